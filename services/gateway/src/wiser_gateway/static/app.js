// First-party script for the dashboards: tabs, confirmations and live updates. No inline scripts (CSP).
(function () {
  "use strict";

  function setupTabs() {
    var tabs = Array.prototype.slice.call(document.querySelectorAll("[role=tab]"));
    function select(tab) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        var panel = document.getElementById(t.getAttribute("aria-controls"));
        if (panel) {
          panel.hidden = !on;
          if (on) panel.querySelectorAll("[data-src]").forEach(function (el) {
            el.setAttribute("src", el.getAttribute("data-src"));
            el.removeAttribute("data-src");
          });
        }
      });
      var url = new URL(window.location.href);
      url.searchParams.set("tab", tab.id.replace("tab-", ""));
      window.history.replaceState(null, "", url);
    }
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { select(tab); });
      tab.addEventListener("keydown", function (e) {
        var next = null;
        if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
        if (e.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
        if (next) { e.preventDefault(); next.focus(); select(next); }
      });
    });
  }

  function setupConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  }

  function setupReasons() {
    // A changed field needs its reason: mark the reason input required once the value differs.
    document.querySelectorAll("form.corrections input[data-original]").forEach(function (input) {
      var reason = document.getElementById(input.id.replace("field-", "reason-"));
      input.addEventListener("input", function () {
        if (reason) reason.required = input.value !== input.getAttribute("data-original");
      });
    });
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  // Replace a live region's content without losing what the user is doing in it: a choice made in a select or
  // a field typed into (e.g. the reviewer picked for a reassignment) and the focus survive the refresh, matched
  // by element id. Without this, another packet's transition arriving between choosing and clicking would
  // reset the choice and the click would submit the default.
  function swap(box, html) {
    var kept = {};
    function checkable(el) { return el.type === "checkbox" || el.type === "radio"; }
    function defaultIndex(sel) {
      for (var i = 0; i < sel.options.length; i++) if (sel.options[i].defaultSelected) return i;
      return 0;
    }
    box.querySelectorAll("select[id], input[id], textarea[id]").forEach(function (el) {
      var changed = el.tagName === "SELECT" ? el.selectedIndex !== defaultIndex(el)
        : checkable(el) ? el.checked !== el.defaultChecked : el.value !== el.defaultValue;
      if (changed) kept[el.id] = checkable(el) ? el.checked : el.value;
    });
    var focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.id : "";
    box.innerHTML = html;
    Object.keys(kept).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || !box.contains(el)) return;
      if (checkable(el)) el.checked = kept[id]; else el.value = kept[id];
    });
    if (focused) {
      var again = document.getElementById(focused);
      if (again && box.contains(again)) again.focus();
    }
  }

  function setupLive() {
    var mode = document.body.getAttribute("data-live");
    if (!mode || !window.EventSource) return;
    var refresh;
    if (mode === "packets") {
      refresh = debounce(function () {
        var url = new URL(window.location.href);
        url.searchParams.set("fragment", "1");
        if (url.pathname === "/review") url.pathname = "/review";
        fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (html === null) return;
            var box = document.getElementById("results");
            if (!box) return;
            if (url.pathname === "/packets") { swap(box, html); return; }
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById("results");
            if (fresh) swap(box, fresh.innerHTML);
          });
      }, 200);
    } else if (mode === "packet") {
      var id = document.body.getAttribute("data-packet");
      refresh = debounce(function () {
        fetch("/packets/" + id + "?fragment=status", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            var slot = document.getElementById("status-slot");
            if (html !== null && slot) slot.innerHTML = html;
          });
      }, 200);
    }
    else if (mode === "letter-set") {
      // Letter generation: the set's status and version follow the packet's transitions (T13, T14, T15).
      var live = document.getElementById("letter-live");
      var setId = live ? live.getAttribute("data-set") : "";
      refresh = debounce(function () {
        fetch("/letters/" + setId + "?fragment=status", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            var slot = document.getElementById("letter-status-slot");
            if (html === null || !slot) return;
            slot.innerHTML = html;
            var shown = live.getAttribute("data-version");
            var now = slot.querySelector("[data-version]");
            var note = document.getElementById("newer-version");
            if (now && note && now.getAttribute("data-version") !== shown) note.hidden = false;
          });
      }, 200);
    }
    if (!refresh) return;
    var source = new EventSource("/events");
    // A transition between rendering the page and subscribing would otherwise never reach it (and the browser
    // reconnects after a dropped stream): catch up once each time the stream opens.
    source.addEventListener("open", function () { refresh(); });
    source.addEventListener("transition", function (e) {
      var event = JSON.parse(e.data);
      if ((mode === "packet" || mode === "letter-set") && event.packet_id !== document.body.getAttribute("data-packet")) return;
      refresh();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupTabs();
    setupConfirm();
    setupReasons();
    setupLive();
  });
})();
