"""Charts drawn on the server: SVG with no script and no inline style (CSP-safe), every bar's value as text,
series told apart by pattern as well as shade, and the title and data in text for screen readers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from wiser_gateway.domain.charts import bar_chart

NS = "{http://www.w3.org/2000/svg}"


def test_a_bar_chart_is_readable_without_colour_and_safe_under_our_csp() -> None:
    svg = bar_chart("Per day <&>", ["03-01", "03-02"], [("received", [3, 5]), ("determined", [2, 0])])
    root = ET.fromstring(svg)  # well-formed, and the title was escaped
    assert root.find(f"{NS}title").text == "Per day <&>"  # type: ignore[union-attr]
    assert "received 3" in root.find(f"{NS}desc").text  # type: ignore[union-attr,operator]
    assert "<script" not in svg and "style=" not in svg and "href=" not in svg
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert {"3", "5", "2", "0", "received", "determined", "03-01"} <= set(texts)
    fills = {r.get("fill") for r in root.iter(f"{NS}rect") if r.get("height") not in (None, "6", "5")}
    assert "url(#hatch)" in fills and any(f and f.startswith("#") for f in fills)


def test_the_legend_never_sits_on_a_long_title() -> None:
    title = "Determinations per day: made by due_at and late"
    root = ET.fromstring(bar_chart(title, ["11-22", "11-23"], [("met", [1, 2]), ("late", [0, 1])]))
    title_text = next(t for t in root.iter(f"{NS}text") if t.text == title)
    legend = [t for t in root.iter(f"{NS}text") if t.text in ("met", "late")]
    title_end = float(title_text.get("x", 0)) + len(title) * 7.8  # as wide as the chart estimates it
    for t in legend:  # after the title on its line, or on a line of its own below it
        assert float(t.get("x", 0)) > title_end or float(t.get("y", 0)) > float(title_text.get("y", 0)) + 8
