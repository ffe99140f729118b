"""Every legal path of STATE_MACHINE.md to `closed`, driven through public APIs and the bus.

Each outcome event is published as its producer will publish it (libs/contracts);
people act through intake's HTTP APIs. Every illegal trigger is rejected, and the
history holds exactly one row per transition.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from wiser_contracts import messages as m
from wiser_contracts.messages import PacketState as S
from wiser_servicekit.testing import BusProbe

Step = tuple[str, S, Callable[[uuid.UUID, "Ctx"], Awaitable[None]]]


class Ctx:
    def __init__(self, system: Any, api: Any, producer: Any, partner: dict[str, str]) -> None:
        self.system, self.api, self.producer, self.partner = system, api, producer, partner
        self.run = 1
        self.letter = uuid.uuid4()

    async def detail(self, pid: uuid.UUID) -> dict[str, Any]:
        r = await self.api.get(
            f"{self.system.ops_url}/api/v1/ops/packets/{pid}", headers=self.system.staff("supervisor")
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def wait(self, pid: uuid.UUID, state: S, timeout: float = 20) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            d = await self.detail(pid)
            if d["state"] == state.value:
                return d
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{pid} stuck in {d['state']}, expected {state.value}")
            await asyncio.sleep(0.05)


def event(factory: Callable[[uuid.UUID, Ctx], m.Message]) -> Callable[[uuid.UUID, Ctx], Awaitable[None]]:
    async def act(pid: uuid.UUID, ctx: Ctx) -> None:
        await ctx.producer.publish(factory(pid, ctx))

    return act


NOW = datetime.now(UTC)
passed = event(lambda p, c: m.PacketValidated(packet_id=p, producer="validation", run=c.run, outcome="passed"))
needs_fix = event(
    lambda p, c: m.PacketValidated(
        packet_id=p,
        producer="validation",
        run=c.run,
        outcome="needs_correction",
        findings=(m.Finding(check="mbi_format", code="MBI_FORMAT", severity="correction", field="beneficiary.mbi"),),
    )
)
dismiss = event(
    lambda p, c: m.PacketValidated(
        packet_id=p,
        producer="validation",
        run=c.run,
        outcome="dismiss",
        findings=(m.Finding(check="scope", code="NON_WISER_SERVICE", severity="dismiss"),),
        dismissal_reasons=(m.DismissalReason(code="NON_WISER_SERVICE", reason="not on the list"),),
    )
)
assign = event(lambda p, c: m.ReviewAssigned(packet_id=p, producer="clinical", reviewer_id="nurse-1"))
release = event(lambda p, c: m.ReviewReleased(packet_id=p, producer="clinical", reviewer_id="nurse-1"))
escalate = event(
    lambda p, c: m.ReviewEscalated(
        packet_id=p, producer="clinical", reviewer_id="nurse-1", recommendation="non_affirmed", rationale="BMI over 35"
    )
)
md_return = event(
    lambda p, c: m.ReviewReturned(
        packet_id=p, producer="clinical", medical_director_id="md-1", note="attach the sleep study"
    )
)
nurse_affirms = event(
    lambda p, c: m.DeterminationRecorded(
        packet_id=p,
        producer="clinical",
        outcome="affirmed",
        decided_by="nurse-1",
        decided_by_role="clinical_reviewer",
        decided_at=NOW,
        lines=(m.LineDecision(code="64581", outcome="affirmed"),),
    )
)
md_non_affirms = event(
    lambda p, c: m.DeterminationRecorded(
        packet_id=p,
        producer="clinical",
        outcome="non_affirmed",
        decided_by="md-1",
        decided_by_role="medical_director",
        decided_at=NOW,
        lines=(m.LineDecision(code="64581", outcome="non_affirmed", reasons=("no trial documented",)),),
    )
)
md_partial = event(
    lambda p, c: m.DeterminationRecorded(
        packet_id=p,
        producer="clinical",
        outcome="partially_affirmed",
        decided_by="md-1",
        decided_by_role="medical_director",
        decided_at=NOW,
        lines=(
            m.LineDecision(code="64581", outcome="affirmed"),
            m.LineDecision(code="64590", outcome="non_affirmed", reasons=("generator not separately authorised",)),
        ),
    )
)
drafted = event(lambda p, c: m.LetterDrafted(packet_id=p, producer="letters", letter_id=c.letter, kind="decision"))
approved = event(
    lambda p, c: m.LetterApproved(
        packet_id=p, producer="letters", letter_id=c.letter, approved_by="sup-1", approver_role="supervisor"
    )
)
rejected = event(
    lambda p, c: m.LetterRejected(
        packet_id=p, producer="letters", letter_id=c.letter, rejected_by="sup-1", reason="wrong fax"
    )
)
delivered = event(
    lambda p, c: m.DeliveryCompleted(
        packet_id=p, producer="outbound", delivery_id=uuid.uuid4(), channels=("fax", "mail")
    )
)
failed = event(
    lambda p, c: m.DeliveryFailed(
        packet_id=p, producer="outbound", delivery_id=uuid.uuid4(), channel="fax", error="no answer"
    )
)
retry = event(
    lambda p, c: m.RetryDelivery(
        packet_id=p,
        producer="outbound",
        requested_by="ops-2",
        on_behalf_of=c.system.on_behalf(p, m.RetryDelivery.TYPE, "ops_tier2", user="ops-2"),
    )
)


async def correct(pid: uuid.UUID, ctx: Ctx) -> None:
    h = ctx.system.staff("ops_tier1")
    etag = (await ctx.api.get(f"{ctx.system.ops_url}/api/v1/ops/packets/{pid}", headers=h)).headers["etag"]
    body = {"corrections": [{"field": "beneficiary.mbi", "value": "9J06YC0QA26", "reason": "typo"}]}
    r = await ctx.api.patch(
        f"{ctx.system.ops_url}/api/v1/ops/packets/{pid}", json=body, headers={**h, "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    ctx.run += 1


async def ops_dismiss(pid: uuid.UUID, ctx: Ctx) -> None:
    r = await ctx.api.post(
        f"{ctx.system.ops_url}/api/v1/ops/packets/{pid}/dismiss",
        headers=ctx.system.staff("supervisor"),
        json={"code": "INVALID_BENEFICIARY", "note": "deceased per SSA"},
    )
    assert r.status_code == 200, r.text


async def partner_withdraws(pid: uuid.UUID, ctx: Ctx) -> None:
    r = await ctx.api.post(f"/api/v1/packets/{pid}/withdraw", json={"reason": "cancelled"}, headers=ctx.partner)
    assert r.status_code == 200, r.text


supervisor_withdraws = event(
    lambda p, c: m.WithdrawPacket(
        packet_id=p,
        producer="gateway",
        requested_by="sup-1",
        on_behalf_of=c.system.on_behalf(p, m.WithdrawPacket.TYPE, "supervisor", user="sup-1"),
        reason="duplicate",
    )
)
utn = event(lambda p, c: m.UtnAssigned(packet_id=p, producer="clinical", utn="JLA26" + f"{p.int % 10**9:09d}"))

PATHS: dict[str, list[tuple[str, S, Any]]] = {
    "nurse affirms": [
        ("T2", S.CLINICAL_QUEUE, passed),
        ("T7", S.CLINICAL_REVIEW, assign),
        ("T9", S.DETERMINED, nurse_affirms),
        ("UTN", S.DETERMINED, utn),
        ("T13", S.LETTER_REVIEW, drafted),
        ("T14", S.DELIVERING, approved),
        ("T16", S.CLOSED, delivered),
    ],
    "corrected then medical director non-affirms": [
        ("T3", S.MANUAL_REVIEW, needs_fix),
        ("T5", S.VALIDATING, correct),
        ("T2", S.CLINICAL_QUEUE, passed),
        ("T7", S.CLINICAL_REVIEW, assign),
        ("T10", S.MD_REVIEW, escalate),
        ("T11", S.DETERMINED, md_non_affirms),
        ("UTN", S.DETERMINED, utn),
        ("T13", S.LETTER_REVIEW, drafted),
        ("T14", S.DELIVERING, approved),
        ("T16", S.CLOSED, delivered),
    ],
    "validation dismisses": [
        ("T4", S.DETERMINED, dismiss),
        ("T13", S.LETTER_REVIEW, drafted),
        ("T14", S.DELIVERING, approved),
        ("T16", S.CLOSED, delivered),
    ],
    "ops dismisses": [
        ("T3", S.MANUAL_REVIEW, needs_fix),
        ("T6", S.DETERMINED, ops_dismiss),
        ("T13", S.LETTER_REVIEW, drafted),
        ("T14", S.DELIVERING, approved),
        ("T16", S.CLOSED, delivered),
    ],
    "the long way round": [
        ("T2", S.CLINICAL_QUEUE, passed),
        ("T7", S.CLINICAL_REVIEW, assign),
        ("T8", S.CLINICAL_QUEUE, release),
        ("T7", S.CLINICAL_REVIEW, assign),
        ("T10", S.MD_REVIEW, escalate),
        ("T12", S.CLINICAL_REVIEW, md_return),
        ("T10", S.MD_REVIEW, escalate),
        ("T11", S.DETERMINED, md_partial),
        ("UTN", S.DETERMINED, utn),
        ("T13", S.LETTER_REVIEW, drafted),
        ("T15", S.DETERMINED, rejected),
        ("T13", S.LETTER_REVIEW, drafted),
        ("T14", S.DELIVERING, approved),
        ("T17", S.DELIVERY_FAILED, failed),
        ("T18", S.DELIVERING, retry),
        ("T16", S.CLOSED, delivered),
    ],
    "withdrawn while validating": [("T19", S.CLOSED, partner_withdraws)],
    "withdrawn in manual review": [("T3", S.MANUAL_REVIEW, needs_fix), ("T19", S.CLOSED, partner_withdraws)],
    "withdrawn in the clinical queue": [("T2", S.CLINICAL_QUEUE, passed), ("T19", S.CLOSED, supervisor_withdraws)],
    "withdrawn in clinical review": [
        ("T2", S.CLINICAL_QUEUE, passed),
        ("T7", S.CLINICAL_REVIEW, assign),
        ("T19", S.CLOSED, partner_withdraws),
    ],
    "withdrawn in md review": [
        ("T2", S.CLINICAL_QUEUE, passed),
        ("T7", S.CLINICAL_REVIEW, assign),
        ("T10", S.MD_REVIEW, escalate),
        ("T19", S.CLOSED, partner_withdraws),
    ],
}

# Every bus trigger, to try where it is illegal.
ALL_EVENTS = {
    "validated": passed,
    "assigned": assign,
    "released": release,
    "escalated": escalate,
    "returned": md_return,
    "determined": nurse_affirms,
    "drafted": drafted,
    "approved": approved,
    "rejected": rejected,
    "delivered": delivered,
    "failed": failed,
    "retry": retry,
    "withdraw": supervisor_withdraws,
}
LEGAL_FROM = {
    S.VALIDATING: {"validated", "withdraw"},
    S.MANUAL_REVIEW: {"withdraw"},
    S.CLINICAL_QUEUE: {"assigned", "withdraw"},
    S.CLINICAL_REVIEW: {"released", "escalated", "determined", "withdraw"},
    S.MD_REVIEW: {"returned", "withdraw", "determined"},
    S.DETERMINED: {"drafted"},
    S.LETTER_REVIEW: {"approved", "rejected"},
    S.DELIVERING: {"delivered", "failed"},
    S.DELIVERY_FAILED: {"retry"},
    S.CLOSED: set(),
}


# Where a packet can go next (STATE_MACHINE.md's table), to tell an early trigger from an illegal one.
NEXT = {
    S.VALIDATING: {S.CLINICAL_QUEUE, S.MANUAL_REVIEW, S.DETERMINED, S.CLOSED},
    S.MANUAL_REVIEW: {S.VALIDATING, S.DETERMINED, S.CLOSED},
    S.CLINICAL_QUEUE: {S.CLINICAL_REVIEW, S.CLOSED},
    S.CLINICAL_REVIEW: {S.CLINICAL_QUEUE, S.DETERMINED, S.MD_REVIEW, S.CLOSED},
    S.MD_REVIEW: {S.DETERMINED, S.CLINICAL_REVIEW, S.CLOSED},
    S.DETERMINED: {S.LETTER_REVIEW},
    S.LETTER_REVIEW: {S.DELIVERING, S.DETERMINED},
    S.DELIVERING: {S.CLOSED, S.DELIVERY_FAILED},
    S.DELIVERY_FAILED: {S.DELIVERING},
    S.CLOSED: set(),
}


def ahead_of(state: S) -> set[S]:
    seen: set[S] = set()
    frontier = list(NEXT[state])
    while frontier:
        nxt = frontier.pop()
        if nxt not in seen:
            seen.add(nxt)
            frontier.extend(NEXT[nxt])
    return seen


async def try_illegal(pid: uuid.UUID, state: S, ctx: Ctx, probe: BusProbe) -> None:
    """Every trigger that can never apply from `state` is rejected with an event, and nothing changes.

    (One that is not legal now but can become legal further on is early, not illegal: it waits.)"""
    before = await ctx.detail(pid)
    later = set().union(*(LEGAL_FROM[s] for s in ahead_of(state)))
    illegal = [name for name in ALL_EVENTS if name not in LEGAL_FROM[state] and name not in later]
    seen = len(probe.of_type("intake.transition.rejected", pid))
    for name in illegal:
        await ALL_EVENTS[name](pid, ctx)
    await probe.wait_for("intake.transition.rejected", pid, count=seen + len(illegal))
    after = await ctx.detail(pid)
    assert (after["state"], after["version"], len(after["history"])) == (
        before["state"],
        before["version"],
        len(before["history"]),
    )


@pytest.mark.parametrize("path", sorted(PATHS))
async def test_every_legal_path_reaches_closed_with_one_history_row_per_transition(
    path, system, api, producer, partner_headers
) -> None:
    ctx = Ctx(system, api, producer, partner_headers)
    created = await api.post("/api/v1/packets", headers=partner_headers, json=_packet())
    assert created.status_code == 201, created.text
    pid = uuid.UUID(created.json()["packet_id"])
    await ctx.wait(pid, S.VALIDATING)
    async with BusProbe(system.infra.amqp_url, ("intake.transition.rejected", "intake.packet.transitioned.#")) as probe:
        await try_illegal(pid, S.VALIDATING, ctx, probe)
        expected = ["T1"]
        for tid, target, act in PATHS[path]:
            await act(pid, ctx)
            if tid == "UTN":  # a change in place: a history row and a version, no transition event
                await _wait_utn(ctx, pid)
            else:
                await ctx.wait(pid, target)
            expected.append(tid)
            if path == "the long way round" or tid == "T16":
                await try_illegal(pid, target, ctx, probe)
        final = await ctx.detail(pid)
        transitioned = probe.of_type("intake.packet.transitioned", pid)
    assert final["state"] == "closed"
    assert [h["transition"] for h in final["history"]] == expected
    assert [h["version"] for h in final["history"]] == list(range(2, len(expected) + 2))
    assert final["closure_reason"] == ("withdrawn" if expected[-1] == "T19" else "delivered")
    assert [t["transition"] for t in transitioned if t["transition"] != "T1"] == [t for t in expected[1:] if t != "UTN"]
    partner_view = (await api.get(f"/api/v1/packets/{pid}", headers=partner_headers)).json()
    moves = [(h["from"], h["to"]) for h in final["history"] if h["transition"] != "UTN"]
    assert [(h["from"], h["to"]) for h in partner_view["history"]] == moves


async def _wait_utn(ctx: Ctx, pid: uuid.UUID) -> None:
    for _ in range(200):
        if (await ctx.detail(pid))["utn"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("UTN never recorded")


async def test_a_determination_is_reported_to_the_partner(system, api, producer, partner_headers) -> None:
    ctx = Ctx(system, api, producer, partner_headers)
    pid = uuid.UUID((await api.post("/api/v1/packets", headers=partner_headers, json=_packet())).json()["packet_id"])
    for act, state in ((passed, S.CLINICAL_QUEUE), (assign, S.CLINICAL_REVIEW), (nurse_affirms, S.DETERMINED)):
        await act(pid, ctx)
        await ctx.wait(pid, state)
    await utn(pid, ctx)
    await _wait_utn(ctx, pid)
    view = (await api.get(f"/api/v1/packets/{pid}", headers=partner_headers)).json()
    det = view["determination"]
    assert det["outcome"] == "affirmed" and det["utn"].startswith("JLA26")
    assert det["valid_until"] and det["lines"] == [{"code": "64581", "outcome": "affirmed", "reasons": []}]
    assert (
        await api.post(f"/api/v1/packets/{pid}/withdraw", json={"reason": "late"}, headers=partner_headers)
    ).status_code == 409


def _packet() -> dict[str, Any]:
    from wiser_servicekit.fixtures import packet_body

    body = packet_body("Quillon", "Brightwater")
    body["external_ref"] = "E2E-" + uuid.uuid4().hex[:8]
    return body
