"""The role matrix: every gateway and service route × every role, no credentials, expired and forged ones."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from wiser_servicekit.identity import ON_BEHALF_HEADER, generate_keypair, issue_command_token, issue_identity_token

from .conftest import GATEWAY_KEY, PRIVATE_KEYS, ROOT
from .test_validation import PDF, packet

ROLES = ("ops_tier1", "ops_tier2", "supervisor", "clinical_reviewer", "medical_director", "manager", "admin", "auditor")
STAFF = set(ROLES)
CORRECTORS = {"ops_tier1", "ops_tier2", "supervisor"}
DISMISSERS = {"ops_tier2", "supervisor"}
REPLAYERS = {"supervisor", "admin"}
ANALYSTS = {"supervisor", "manager", "admin", "auditor"}
ANALYTICS_TABLES = (
    "status",
    "packets",
    "aging",
    "sla",
    "cms",
    "throughput",
    "trend",
    "turnaround",
    "reviewers",
    "outcomes",
    "dismissals",
    "channels",
    "gold-card",
)
REVIEWERS = {"clinical_reviewer", "medical_director"}
MDS = {"medical_director"}
LETTER_APPROVERS = {"clinical_reviewer", "medical_director", "supervisor"}
NO_SET = "00000000-0000-4000-8000-000000000001"  # no such letter set or letter: 404 once the role is allowed


@pytest.fixture(scope="module")
async def packets(full_system: Any) -> dict[str, str]:
    """A packet in clinical_queue (with a document) and a closed one, made through the partner API."""
    async with httpx.AsyncClient(base_url=full_system.url, timeout=30) as c:
        token = (
            await c.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        open_body = packet("Sorelli", "Okonkwo", code="64483", dx="M54.16")
        r = await c.post(
            "/api/v1/packets",
            headers=auth,
            data={"packet": json.dumps(open_body)},
            files=[("documents", ("note.pdf", PDF, "application/pdf"))],
        )
        open_id = r.json()["packet_id"]
        closed_id = (
            await c.post(
                "/api/v1/packets", headers=auth, json=packet("Wrenfield", "Okonkwo", code="64483", dx="M54.16")
            )
        ).json()["packet_id"]
        await c.post(f"/api/v1/packets/{closed_id}/withdraw", headers=auth, json={"reason": "test"})
        for _ in range(300):
            if (await c.get(f"/api/v1/packets/{open_id}", headers=auth)).json()["state"] == "clinical_queue":
                break
            await asyncio.sleep(0.1)
        staff = {"Authorization": f"Bearer {issue_identity_token(GATEWAY_KEY, 'x', ['auditor'])}"}
        detail = (await c.get(f"{full_system.ops_url}/api/v1/ops/packets/{open_id}", headers=staff)).json()
    assert detail["state"] == "clinical_queue", detail["state"]
    await reviewer_profiles(full_system, open_id)
    return {"open": open_id, "closed": closed_id, "document": detail["documents"][0]["document_id"]}


async def reviewer_profiles(full_system: Any, open_id: str) -> None:
    """Active reviewer profiles reviewing no service (so they take nothing) for the matrix's reviewers and the
    demo ones, and wait until clinical has the open packet's case."""
    ids = json.loads(
        subprocess.run(
            [sys.executable, "-m", "wiser_gateway", "user-ids", "clinical_reviewer", "medical_director"],
            cwd=ROOT,
            env=full_system.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    people = {"u-clinical_reviewer": "clinical_reviewer", "u-medical_director": "medical_director"}
    people.update({user_id: name for name, user_id in ids.items()})
    sup = {"Authorization": f"Bearer {issue_identity_token(GATEWAY_KEY, 'sup', ['supervisor'])}"}
    async with httpx.AsyncClient(base_url=full_system.clinical_url, timeout=30) as c:
        for user_id, role in people.items():
            if (await c.get(f"/api/v1/reviewers/{user_id}", headers=sup)).status_code == 200:
                continue  # another test gave them a profile: keep it
            body = {"role": role, "capacity": 5, "services": [], "licences": []}
            r = await c.put(f"/api/v1/reviewers/{user_id}", json=body, headers=sup)
            assert r.status_code == 200, r.text
        for _ in range(300):
            if (await c.get(f"/api/v1/cases/{open_id}", headers=sup)).status_code == 200:
                break
            await asyncio.sleep(0.1)


def service_routes(p: dict[str, str]) -> list[tuple[str, str, str, dict[str, Any], set[str], int]]:
    """(service, method, path, request kwargs, roles allowed, status when allowed).

    `command` in the kwargs: the route issues that bus command on the caller's behalf, so the caller sends the
    gateway's command token for it too.
    """
    o, c, d = p["open"], p["closed"], p["document"]
    wrong_version = {
        "json": {"corrections": [{"field": "beneficiary.mbi", "value": "x", "reason": "r"}]},
        "headers": {"If-Match": '"999"'},
    }
    return [
        ("intake", "GET", "/api/v1/ops/packets", {}, STAFF, 200),
        ("intake", "GET", "/api/v1/ops/packets/counts", {}, STAFF, 200),
        ("intake", "GET", f"/api/v1/ops/packets/{o}", {}, STAFF, 200),
        ("intake", "GET", f"/api/v1/ops/packets/{o}/documents/{d}", {}, STAFF, 200),
        ("intake", "PATCH", f"/api/v1/ops/packets/{o}", wrong_version, CORRECTORS, 409),
        (
            "intake",
            "POST",
            f"/api/v1/ops/packets/{o}/dismiss",
            {"json": {"code": "INVALID_BENEFICIARY", "note": "n"}},
            DISMISSERS,
            409,
        ),
        ("intake", "POST", f"/api/v1/ops/packets/{c}/withdraw", {"json": {"reason": "again"}}, {"supervisor"}, 409),
        ("validation", "GET", f"/api/v1/validation/packets/{o}", {}, STAFF, 200),
        (
            "validation",
            "POST",
            f"/api/v1/validation/packets/{c}/rerun",
            {"json": {"reason": "matrix"}, "command": (c, "intake.revalidate_packet")},
            CORRECTORS,
            202,
        ),
        ("validation", "GET", "/api/v1/reference", {}, STAFF, 200),
        ("validation", "GET", "/api/v1/reference/services", {}, STAFF, 200),
        # Outbound (issue 12): deliveries, webhooks, T18 "retry now", parked messages of each service.
        ("outbound", "GET", "/api/v1/outbound/deliveries", {}, STAFF, 200),
        ("outbound", "GET", f"/api/v1/outbound/packets/{o}/deliveries", {}, STAFF, 200),
        ("outbound", "GET", "/api/v1/outbound/webhook-deliveries", {}, STAFF, 200),
        (
            "outbound",
            "POST",
            f"/api/v1/outbound/packets/{o}/retry",
            {"json": {"fax": "+12015550123"}, "command": (o, "intake.retry_delivery")},
            DISMISSERS,
            404,  # no delivery for it: refused after the roles and the command token are checked
        ),
        ("outbound", "GET", "/api/v1/outbound/parked", {}, STAFF, 200),
        ("outbound", "POST", "/api/v1/outbound/parked/replay", {"json": {"queue": "outbound.dlq"}}, REPLAYERS, 200),
        ("intake", "GET", "/api/v1/ops/parked", {}, STAFF, 200),
        ("validation", "GET", "/api/v1/validation/parked", {}, STAFF, 200),
        (
            "validation",
            "POST",
            "/api/v1/validation/parked/replay",
            {"json": {"queue": "validation.dlq"}},
            REPLAYERS,
            200,
        ),
        ("validation", "GET", "/api/v1/reference/dismissal-reasons", {}, STAFF, 200),
        *[(s, "GET", f"/api/v1/{s}/parked", {}, STAFF, 200) for s in PARKED_TOO],
        *[
            (s, "POST", f"/api/v1/{s}/parked/replay", {"json": {"queue": f"{s}.dlq"}}, REPLAYERS, 200)
            for s in PARKED_TOO
        ],
        # intake's history export is for services only (analytics' rebuild): no person may read it
        ("intake", "GET", "/api/v1/ops/history/export?limit=5", {}, set(), 200),
        *[("analytics", "GET", f"/api/v1/analytics/{t}", {}, ANALYSTS, 200) for t in ANALYTICS_TABLES],
        *[("analytics", "GET", f"/api/v1/analytics/export/{t}.csv", {}, ANALYSTS, 200) for t in ANALYTICS_TABLES],
        ("analytics", "GET", "/api/v1/analytics/report.pdf", {}, ANALYSTS, 200),
        ("analytics", "POST", "/api/v1/ops/analytics/rebuild", {}, {"admin"}, 200),
        # clinical: reads for every person; actions on a packet clinical never saw (c) say 404 to those allowed
        ("clinical", "GET", "/api/v1/queue", {}, STAFF, 200),
        ("clinical", "GET", f"/api/v1/cases/{o}", {}, STAFF, 200),
        ("clinical", "GET", f"/api/v1/cases/{o}/documents/{d}", {}, STAFF, 200),
        ("clinical", "GET", f"/api/v1/determinations/{o}", {}, STAFF, 404),
        ("clinical", "GET", "/api/v1/reviewers", {}, STAFF, 200),
        ("clinical", "GET", "/api/v1/reviewers/u-medical_director", {}, STAFF, 200),
        (
            "clinical",
            "PUT",
            "/api/v1/reviewers/matrix-inactive",
            {"json": {"role": "clinical_reviewer", "capacity": 0, "active": False}},
            {"supervisor", "admin"},
            200,
        ),
        ("clinical", "POST", "/api/v1/cases/next", {}, REVIEWERS, 404),
        ("clinical", "POST", f"/api/v1/cases/{c}/take", {}, REVIEWERS, 404),
        ("clinical", "POST", f"/api/v1/cases/{c}/release", {"json": {"reason": "r"}}, REVIEWERS | {"supervisor"}, 404),
        ("clinical", "POST", f"/api/v1/cases/{c}/assign", {"json": {"reviewer_id": "x"}}, {"supervisor"}, 404),
        (
            "clinical",
            "PUT",
            f"/api/v1/cases/{c}/checklist",
            {"json": {"answers": [{"criterion_id": "epid-1", "answer": "met"}]}},
            REVIEWERS,
            404,
        ),
        (
            "clinical",
            "POST",
            f"/api/v1/cases/{c}/urgency",
            {"json": {"confirmed": False, "reason": "r"}},
            REVIEWERS | {"supervisor"},
            404,
        ),
        ("clinical", "POST", f"/api/v1/cases/{c}/notes", {"json": {"note": "n"}}, REVIEWERS | {"supervisor"}, 404),
        ("clinical", "POST", f"/api/v1/cases/{c}/affirm", {"json": {}}, REVIEWERS, 404),
        (
            "clinical",
            "POST",
            f"/api/v1/cases/{c}/escalate",
            {"json": {"recommendation": "non_affirmed", "rationale": "r"}},
            REVIEWERS,
            404,
        ),
        (
            "clinical",
            "POST",
            f"/api/v1/cases/{c}/decision",
            {"json": {"lines": [{"code": "64483", "outcome": "non_affirmed", "unmet": []}]}},
            MDS,
            404,
        ),
        ("clinical", "POST", f"/api/v1/cases/{c}/return", {"json": {"note": "n"}}, MDS, 404),
        ("letters", "GET", "/api/v1/letter-sets", {}, STAFF, 200),
        ("letters", "GET", f"/api/v1/letter-sets/by-packet/{o}", {}, STAFF, 404),
        ("letters", "GET", f"/api/v1/letter-sets/{NO_SET}", {}, STAFF, 404),
        ("letters", "GET", f"/api/v1/letters/{NO_SET}/pdf", {}, STAFF, 404),
        ("letters", "POST", f"/api/v1/letter-sets/{NO_SET}/approve", {"json": {"version": 1}}, LETTER_APPROVERS, 404),
        (
            "letters",
            "POST",
            f"/api/v1/letter-sets/{NO_SET}/reject",
            {"json": {"version": 1, "reason": "r"}},
            LETTER_APPROVERS,
            404,
        ),
        (
            "letters",
            "POST",
            f"/api/v1/letter-sets/{NO_SET}/edit",
            {"json": {"version": 1, "paragraphs": {"requester": {"closing": "c"}}}},
            LETTER_APPROVERS,
            404,
        ),
        ("letters", "POST", f"/api/v1/letter-sets/{NO_SET}/redraft", {"json": {}}, LETTER_APPROVERS, 404),
    ]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


PARKED_TOO = ("clinical", "letters", "analytics")  # parked messages, beside intake's, validation's, outbound's


async def test_every_service_route_for_every_role_and_bad_token(full_system, full_outbound, packets) -> None:
    bases = {
        "intake": full_system.ops_url,
        "validation": full_system.validation_url,
        "clinical": full_system.clinical_url,
        "outbound": full_system.outbound_url,
        "letters": full_system.letters_url,
        "analytics": full_system.analytics_url,
    }
    validation_key = PRIVATE_KEYS["validation"]
    expired = issue_identity_token(GATEWAY_KEY, "u", ["supervisor"], ttl=-30)
    forged = issue_identity_token(generate_keypair()[0], "u", ["supervisor"])
    service_as_supervisor = issue_identity_token(
        validation_key, "svc:validation", ["supervisor"], issuer="wiser-validation"
    )
    service_as_gateway = issue_identity_token(validation_key, "u", ["supervisor"])
    gateway_as_service = issue_identity_token(GATEWAY_KEY, "svc:validation", ["service"])
    mismatches = []
    async with httpx.AsyncClient(timeout=30) as c:
        for service, method, path, kwargs, allowed, ok_status in service_routes(packets):
            url = bases[service] + path
            cases: list[tuple[str, dict[str, str], int, str, list[str]]] = [
                ("no token", {}, 401, "u", []),
                ("expired token", bearer(expired), 401, "u", ["supervisor"]),
                ("token signed with an unknown key", bearer(forged), 401, "u", ["supervisor"]),
                ("validation's key claiming supervisor", bearer(service_as_supervisor), 401, "u", ["supervisor"]),
                ("validation's key signing as the gateway", bearer(service_as_gateway), 401, "u", ["supervisor"]),
                ("the gateway claiming the service role", bearer(gateway_as_service), 401, "u", ["service"]),
                ("no role", bearer(issue_identity_token(GATEWAY_KEY, "u", [])), 403, "u", []),
            ]
            cases += [
                (
                    role,
                    bearer(issue_identity_token(GATEWAY_KEY, f"u-{role}", [role])),
                    ok_status if role in allowed else 403,
                    f"u-{role}",
                    [role],
                )
                for role in ROLES
            ]
            for label, auth, expected, user, roles in cases:
                headers = {**kwargs.get("headers", {}), **auth}
                if "command" in kwargs:
                    packet_id, action = kwargs["command"]
                    headers[ON_BEHALF_HEADER] = issue_command_token(GATEWAY_KEY, user, roles, packet_id, action)
                r = await c.request(method, url, headers=headers, json=kwargs.get("json"))
                # A correction with a stale If-Match is refused before anything changes (412).
                status = 409 if r.status_code == 412 else r.status_code
                if status != expected:
                    mismatches.append(f"{method} {path} as {label}: {r.status_code} != {expected}")
    assert mismatches == []


async def session_for(gateway: str, username: str) -> tuple[httpx.AsyncClient, str]:
    c = httpx.AsyncClient(base_url=gateway, timeout=30)
    page = await c.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await c.post(
        "/signin", data={"username": username, "password": "demo-password", "csrf_token": csrf, "next": "/packets"}
    )
    assert r.status_code == 303, (username, r.status_code)
    home = await c.get("/packets")
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]
    return c, token


async def test_every_gateway_route_for_every_role(full_system, full_outbound, packets) -> None:
    o, d, c = packets["open"], packets["document"], packets["closed"]
    user_id = str(uuid.uuid4())
    routes: list[tuple[str, str, dict[str, Any], set[str], int]] = [
        ("GET", "/packets", {}, STAFF, 200),
        ("GET", "/packets?fragment=1", {}, STAFF, 200),
        ("GET", f"/packets/{o}", {}, STAFF, 200),
        ("GET", f"/packets/{o}?fragment=status", {}, STAFF, 200),
        ("GET", f"/packets/{o}/documents/{d}", {}, STAFF, 200),
        ("GET", "/review", {}, STAFF, 200),
        ("GET", f"/review/{o}", {}, STAFF, 200),
        ("POST", f"/review/{o}/corrections", {}, CORRECTORS, 303),  # no version: back to the form, as a conflict
        ("POST", f"/review/{o}/dismiss", {"code": "INVALID_BENEFICIARY", "note": "n"}, DISMISSERS, 409),
        ("POST", f"/review/{packets['closed']}/revalidate", {"reason": "matrix"}, CORRECTORS, 303),
        ("GET", "/admin/users", {}, {"admin"}, 200),
        ("POST", f"/admin/users/{user_id}", {"action": "deactivate"}, {"admin"}, 303),
        ("POST", "/admin/users", {"username": ""}, {"admin"}, 303),
        ("GET", "/audit", {}, {"auditor", "admin"}, 200),
        ("GET", "/outbound", {}, STAFF, 200),
        ("GET", "/outbound?status=failed&channel=fax", {}, STAFF, 200),
        ("POST", f"/outbound/{o}/retry", {"fax": "+12015550123"}, DISMISSERS, 404),  # outbound: no delivery
        ("GET", "/parked", {}, STAFF, 200),
        ("POST", "/parked/replay", {"service": "validation", "queue": "validation.dlq"}, REPLAYERS, 303),
        ("GET", "/analytics", {}, ANALYSTS, 200),
        ("GET", "/analytics?state=closed", {}, ANALYSTS, 200),
        ("GET", "/analytics/insights", {}, ANALYSTS, 200),
        *[("GET", f"/analytics/export/{t}.csv", {}, ANALYSTS, 200) for t in ANALYTICS_TABLES],
        ("GET", "/analytics/report.pdf", {}, ANALYSTS, 200),
        ("GET", "/clinical", {}, STAFF, 200),
        ("GET", "/clinical?fragment=1", {}, STAFF, 200),
        ("GET", "/clinical/md", {}, STAFF, 200),
        ("GET", "/clinical/reviewers", {}, STAFF, 200),
        ("GET", f"/clinical/cases/{o}", {}, STAFF, 200),
        ("GET", f"/clinical/cases/{o}/documents/{d}", {}, STAFF, 200),
        ("POST", "/clinical/next", {}, REVIEWERS, 303),
        ("POST", "/clinical/reviewers", {"user_id": "matrix-form"}, {"supervisor", "admin"}, 303),
        ("POST", f"/clinical/cases/{c}/take", {}, REVIEWERS, 404),
        ("POST", f"/clinical/cases/{c}/release", {"reason": "r"}, REVIEWERS | {"supervisor"}, 404),
        ("POST", f"/clinical/cases/{c}/assign", {"reviewer_id": "x"}, {"supervisor"}, 404),
        ("POST", f"/clinical/cases/{c}/checklist", {"criterion": "epid-1", "answer-epid-1": "met"}, REVIEWERS, 404),
        ("POST", f"/clinical/cases/{c}/urgency", {"confirmed": "no", "reason": "r"}, REVIEWERS | {"supervisor"}, 404),
        ("POST", f"/clinical/cases/{c}/notes", {"note": "n"}, REVIEWERS | {"supervisor"}, 404),
        ("POST", f"/clinical/cases/{c}/affirm", {}, REVIEWERS, 404),
        ("POST", f"/clinical/cases/{c}/escalate", {"recommendation": "non_affirmed", "rationale": "r"}, REVIEWERS, 404),
        ("POST", f"/clinical/cases/{c}/decision", {"line": "64483", "outcome-64483": "affirmed"}, MDS, 404),
        ("POST", f"/clinical/cases/{c}/return", {"note": "n"}, MDS, 404),
        ("GET", "/letters", {}, STAFF, 200),
        ("GET", f"/letters/{NO_SET}", {}, STAFF, 404),
        ("POST", f"/letters/{NO_SET}/approve", {"version": "1"}, LETTER_APPROVERS, 404),
        ("POST", f"/letters/{NO_SET}/reject", {"version": "1", "reason": "r"}, LETTER_APPROVERS, 404),
        ("POST", f"/letters/{NO_SET}/redraft", {}, LETTER_APPROVERS, 404),
    ]
    mismatches = []
    anonymous = httpx.AsyncClient(base_url=full_system.gateway_url, timeout=30)
    for method, path, form, _, _ in routes:
        r = await anonymous.request(method, path, data=form or None)
        if not (r.status_code == 303 and r.headers["location"].startswith("/signin")):
            mismatches.append(f"{method} {path} signed out: {r.status_code}")
    async with anonymous.stream("GET", "/events") as live:
        if live.status_code != 401:
            mismatches.append(f"GET /events signed out: {live.status_code}")
    forged = httpx.AsyncClient(base_url=full_system.gateway_url, timeout=30, cookies={"wiser_session": "forged"})
    for method, path, form, _, _ in routes:
        r = await forged.request(method, path, data=form or None)
        if r.status_code != 303:
            mismatches.append(f"{method} {path} with a forged session: {r.status_code}")
    for role in ROLES:
        client, csrf = await session_for(full_system.gateway_url, role)
        try:
            for method, path, form, allowed, ok_status in routes:
                data = {**form, "csrf_token": csrf} if method == "POST" else None
                r = await client.request(method, path, data=data)
                expected = ok_status if role in allowed else 403
                if r.status_code != expected:
                    mismatches.append(f"{method} {path} as {role}: {r.status_code} != {expected}")
            async with client.stream("GET", "/events") as live:
                expected = 200 if role in STAFF else 403
                if live.status_code != expected or (
                    expected == 200 and not live.headers["content-type"].startswith("text/event-stream")
                ):
                    mismatches.append(f"GET /events as {role}: {live.status_code}")
            no_csrf = await client.post(f"/review/{o}/corrections", data={})
            if no_csrf.status_code != 403:
                mismatches.append(f"corrections without a CSRF token as {role}: {no_csrf.status_code}")
            await client.post("/signout", data={"csrf_token": csrf})
            after = await client.get("/packets")
            if after.status_code != 303:
                mismatches.append(f"a signed-out session of {role} still works: {after.status_code}")
        finally:
            await client.aclose()
    await anonymous.aclose()
    await forged.aclose()
    assert mismatches == []


async def test_security_headers_are_set(full_system) -> None:
    async with httpx.AsyncClient(base_url=full_system.gateway_url) as c:
        r = await c.get("/signin")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


async def test_repeated_wrong_passwords_lock_the_account(full_system) -> None:
    admin, csrf = await session_for(full_system.gateway_url, "admin")
    name = "locktest-" + uuid.uuid4().hex[:6]
    r = await admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": name,
            "display_name": "Lock test",
            "password": "correct horse battery",
            "roles": ["ops_tier1"],
        },
    )
    assert r.status_code == 303 and "error" not in r.headers["location"]
    async with httpx.AsyncClient(base_url=full_system.gateway_url, timeout=30) as c:
        page = await c.get("/signin")
        csrf_in = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        statuses = []
        for _ in range(5):
            statuses.append(
                (
                    await c.post("/signin", data={"username": name, "password": "wrong", "csrf_token": csrf_in})
                ).status_code
            )
        locked = await c.post(
            "/signin", data={"username": name, "password": "correct horse battery", "csrf_token": csrf_in}
        )
    assert statuses[:4] == [401] * 4 and statuses[4] == 423
    assert locked.status_code == 423
    audit = await admin.get("/audit", params={"action": "signin.failed"})
    assert audit.text.count("signin.failed") >= 5
    await admin.aclose()


async def test_a_rerun_needs_the_callers_own_command_token_for_that_packet_and_action(full_system, packets) -> None:
    closed, other = packets["closed"], packets["open"]
    url = f"{full_system.validation_url}/api/v1/validation/packets/{closed}/rerun"
    auth = bearer(issue_identity_token(GATEWAY_KEY, "u-sup", ["supervisor"]))
    revalidate = "intake.revalidate_packet"
    cases = {
        "none": (None, "ON_BEHALF_REQUIRED"),
        "another packet": (issue_command_token(GATEWAY_KEY, "u-sup", ["supervisor"], other, revalidate), None),
        "another action": (
            issue_command_token(GATEWAY_KEY, "u-sup", ["supervisor"], closed, "intake.withdraw_packet"),
            None,
        ),
        "another person": (issue_command_token(GATEWAY_KEY, "u-else", ["supervisor"], closed, revalidate), None),
        "a service's key": (
            issue_command_token(
                PRIVATE_KEYS["validation"], "u-sup", ["supervisor"], closed, revalidate, issuer="wiser-validation"
            ),
            None,
        ),
        "expired": (issue_command_token(GATEWAY_KEY, "u-sup", ["supervisor"], closed, revalidate, ttl=-30), None),
    }
    async with httpx.AsyncClient(timeout=30) as c:
        for label, (token, code) in cases.items():
            headers = {**auth, **({ON_BEHALF_HEADER: token} if token else {})}
            r = await c.post(url, json={"reason": "r"}, headers=headers)
            assert (r.status_code, r.json()["code"]) == (403, code or "ON_BEHALF_INVALID"), label
        ok = issue_command_token(GATEWAY_KEY, "u-sup", ["supervisor"], closed, revalidate)
        assert (await c.post(url, json={"reason": "r"}, headers={**auth, ON_BEHALF_HEADER: ok})).status_code == 202


async def test_a_revalidation_from_the_dashboard_reaches_intake_as_the_signed_in_person(full_system) -> None:
    async with httpx.AsyncClient(base_url=full_system.url, timeout=30) as c:
        token = (
            await c.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
            )
        ).json()["access_token"]
        partner = {"Authorization": f"Bearer {token}"}
        body = packet("Ravensby", "Okonkwo", code="64483", dx="M54.16")
        pid = (await c.post("/api/v1/packets", headers=partner, json=body)).json()["packet_id"]  # no document

        async def history() -> list[dict[str, Any]]:
            detail = await c.get(
                f"{full_system.ops_url}/api/v1/ops/packets/{pid}",
                headers=bearer(issue_identity_token(GATEWAY_KEY, "x", ["auditor"])),
            )
            return detail.json()["history"]  # type: ignore[no-any-return]

        for _ in range(300):
            if [h["to"] for h in await history()][-1:] == ["manual_review"]:
                break
            await asyncio.sleep(0.1)
        client, csrf = await session_for(full_system.gateway_url, "ops_tier1")
        try:
            r = await client.post(f"/review/{pid}/revalidate", data={"reason": "try again", "csrf_token": csrf})
            assert r.status_code == 303, r.text
        finally:
            await client.aclose()
        for _ in range(300):
            t5 = [h for h in await history() if h["transition"] == "T5"]
            if t5:
                break
            await asyncio.sleep(0.1)
    assert t5, "the revalidation never reached intake"
    assert t5[0]["actor_id"] not in ("unverified", "ops_tier1") and uuid.UUID(t5[0]["actor_id"])
