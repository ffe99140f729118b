"""Recording the MAC's UTN is a change in place (STATE_MACHINE.md): a history row, a version bump and
`intake.packet.utn_recorded`; a decision letter waits for it (T13); `determined` carries lines and dismissal codes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from wiser_contracts import messages as m
from wiser_servicekit.testing import BusProbe

UTN = "JLA26" + "000000042"


async def to_md_review(client, partner, build_packet, bus, wait_state) -> uuid.UUID:
    pid = uuid.UUID((await client.post("/api/v1/packets", json=build_packet(), headers=partner)).json()["packet_id"])
    await bus.publish(m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed"))
    await wait_state(pid, "clinical_queue")
    await bus.publish(m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="nurse-1"))
    await wait_state(pid, "clinical_review")
    await bus.publish(
        m.ReviewEscalated(
            packet_id=pid, producer="clinical", reviewer_id="nurse-1", recommendation="non_affirmed", rationale="x"
        )
    )
    await wait_state(pid, "md_review")
    return pid


async def test_the_utn_is_a_change_in_place_and_the_letter_waits_for_it(
    client, partner, build_packet, bus, wait_state, settings
) -> None:
    pid = await to_md_review(client, partner, build_packet, bus, wait_state)
    lines = (
        m.LineDecision(code="64581", outcome="affirmed"),
        m.LineDecision(code="64590", outcome="non_affirmed", reasons=("generator not separately authorised",)),
    )
    keys = ("intake.packet.transitioned.#", "intake.packet.utn_recorded")
    async with BusProbe(settings.amqp_admin_url, keys) as probe:
        await bus.publish(
            m.DeterminationRecorded(
                packet_id=pid,
                producer="clinical",
                outcome="partially_affirmed",
                decided_by="md-1",
                decided_by_role="medical_director",
                decided_at=datetime.now(UTC),
                lines=lines,
            )
        )
        determined = await wait_state(pid, "determined")
        [event] = [
            e for e in await probe.wait_for("intake.packet.transitioned.determined", pid) if e["transition"] == "T11"
        ]
        assert event["lines"] == [ln.model_dump(mode="json") for ln in lines] and event["dismissal_codes"] == []

        # Letters heard the UTN from clinical first: its draft arrives before intake recorded the UTN, and waits.
        letter = uuid.uuid4()
        await bus.publish(m.LetterDrafted(packet_id=pid, producer="letters", letter_id=letter, kind="decision"))
        await asyncio.sleep(0.5)
        assert (await wait_state(pid, "determined"))["version"] == determined["version"]

        assigned = m.UtnAssigned(packet_id=pid, producer="clinical", utn=UTN)
        await bus.publish(assigned)
        await bus.publish(assigned)  # delivered twice: recorded once
        [recorded] = await probe.wait_for("intake.packet.utn_recorded", pid)
        assert recorded["utn"] == UTN and recorded["version"] == determined["version"] + 1
        assert recorded["causation_id"] == str(assigned.message_id)

        detail = await wait_state(pid, "letter_review")  # the draft that waited now applies (T13)
    history = [(h["transition"], h["from"], h["to"], h["version"]) for h in detail["history"]]
    v = determined["version"]
    assert history[-2:] == [("UTN", "determined", "determined", v + 1), ("T13", "determined", "letter_review", v + 2)]
    assert detail["utn"] == UTN and detail["version"] == v + 2
    assert len(probe.of_type("intake.packet.utn_recorded", pid)) == 1


async def test_a_dismissal_carries_its_codes_and_a_utn_for_it_is_rejected(
    client, partner, build_packet, bus, wait_state, settings
) -> None:
    pid = uuid.UUID((await client.post("/api/v1/packets", json=build_packet(), headers=partner)).json()["packet_id"])
    reasons = (
        m.DismissalReason(code="NON_WISER_SERVICE", reason="not on the list"),
        m.DismissalReason(code="WRONG_JURISDICTION", reason="not a WISeR state"),
    )
    keys = ("intake.packet.transitioned.#", "intake.transition.rejected")
    async with BusProbe(settings.amqp_admin_url, keys) as probe:
        await bus.publish(
            m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="dismiss", dismissal_reasons=reasons)
        )
        [event] = await probe.wait_for("intake.packet.transitioned.determined", pid)
        assert event["dismissal_codes"] == ["NON_WISER_SERVICE", "WRONG_JURISDICTION"] and event["lines"] == []
        before = await wait_state(pid, "determined")
        await bus.publish(m.UtnAssigned(packet_id=pid, producer="clinical", utn=UTN))
        [rejected] = await probe.wait_for("intake.transition.rejected", pid)
    assert rejected["code"] == "NO_DETERMINATION"
    after = await wait_state(pid, "determined")
    assert (after["version"], after["utn"], len(after["history"])) == (before["version"], None, len(before["history"]))
