"""Validate a packet: fetch it from intake, ask the peers, run every check, record the run, report the outcome."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from wiser_contracts import messages as m

from ..domain import (
    Eligibility,
    Enrollment,
    History,
    IssuedUtn,
    NpiRecord,
    OpenRequest,
    PacketFacts,
    appendix_a_service,
    decide,
    needed_peers,
    npis_to_look_up,
    run_checks,
)
from ..domain.checks import local_today
from .ports import Intake, Peers, PeerUnavailable, Reference, UnitOfWork, UowFactory

log = logging.getLogger("wiser.validation")


@dataclass
class Validation:
    """The use cases' ports (bootstrap.py builds them; tests/unit/fakes.py has in-memory ones)."""

    uow: UowFactory
    intake: Intake
    peers: Peers
    reference: Reference
    sessions: Any = None  # the read side (usecases/report.py) reads validation's tables directly
    # The states this deployment serves (None: every WISeR state); this run's clock.
    served: frozenset[str] | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def facts_from_intake(detail: dict[str, Any]) -> PacketFacts:
    """Intake's ops view of a packet, as the checks read it."""
    return PacketFacts.from_packet_json(
        {
            **detail,
            "state": detail["state_of_service"],
            "document_count": detail["document_count"]
            if "document_count" in detail
            else len(detail.get("documents") or ()),
        }
    )


async def _eligibility(v: Validation, facts: PacketFacts, today: date) -> Eligibility:
    try:
        return await v.peers.hets.eligibility(facts, today)
    except PeerUnavailable:
        return Eligibility(status="unavailable")


async def _npi(v: Validation, npi: str) -> NpiRecord:
    try:
        return await v.peers.nppes.lookup(npi)
    except PeerUnavailable:
        return NpiRecord(npi=npi, status="unavailable")


async def _enrollment(v: Validation, npi: str) -> Enrollment:
    try:
        return await v.peers.pecos.enrollment(npi)
    except PeerUnavailable:
        return Enrollment(npi=npi, status="unavailable")


async def ask_peers(
    v: Validation, facts: PacketFacts, wanted: set[str], today: date
) -> tuple[Any, dict[str, NpiRecord], Any]:
    """Ask the peers the checks need, side by side (`today`: in the state of service, for HETS's fallback)."""
    eligibility_task = _eligibility(v, facts, today) if "hets" in wanted else None
    npis = list(npis_to_look_up(facts)) if "nppes" in wanted else []
    results = await asyncio.gather(
        eligibility_task if eligibility_task is not None else asyncio.sleep(0, None),
        asyncio.gather(*(_npi(v, n) for n in npis)),
        _enrollment(v, facts.practitioner.npi) if "pecos" in wanted else asyncio.sleep(0, None),
    )
    eligibility, npi_records, enrollment = results
    return eligibility, {r.npi: r for r in npi_records}, enrollment


async def _seen_before(uow: UnitOfWork, facts: PacketFacts, received_at: datetime) -> tuple[OpenRequest, ...]:
    return tuple(
        # Matched by the MBI's blind index, so the MBI is the packet's own.
        OpenRequest(
            practitioner_npi=r.practitioner_npi, mbi=facts.beneficiary.mbi, service_id=s, packet_id=str(r.packet_id)
        )
        for r in await uow.seen.open_before(facts, received_at)
        for s in r.service_ids
    )


def earlier_from_intake(facts: PacketFacts, detail: dict[str, Any], ref: Any) -> tuple[OpenRequest, ...]:
    """The open requests intake received before this packet from the same practitioner for the same MBI (intake
    matched them), one per Appendix A service."""
    found = []
    for e in detail["earlier_open_requests"]:
        services = {appendix_a_service(code, ref) for code in e.get("codes", ())} - {None}
        found += [
            OpenRequest(
                practitioner_npi=facts.practitioner.npi,
                mbi=facts.beneficiary.mbi,
                service_id=str(sid),
                packet_id=str(e["packet_id"]),
                received_at=datetime.fromisoformat(e["received_at"].replace("Z", "+00:00")),
                tracking_number=str(e.get("tracking_number") or ""),
            )
            for sid in sorted(str(x) for x in services)
        ]
    return tuple(found)


async def _history(
    uow: UnitOfWork, facts: PacketFacts, received_at: datetime, earlier: tuple[OpenRequest, ...] | None
) -> History:
    """Open requests received before this one with the same practitioner and beneficiary; UTNs we issued.

    Intake's list (`earlier`) is the receipt order; without it (an older intake), the packets validation has seen.
    """
    if earlier is not None:
        requests = earlier
    else:
        requests = await _seen_before(uow, facts, received_at)
    utns: tuple[IssuedUtn, ...] = ()
    if facts.previous_utn:
        utns = tuple(
            IssuedUtn(
                utn=r.utn,
                first_name=r.identity["first_name"],
                last_name=r.identity["last_name"],
                date_of_birth=date.fromisoformat(r.identity["date_of_birth"]),
                packet_id=str(r.packet_id),
            )
            for r in await uow.seen.with_utn(facts.previous_utn)
        )
    return History(open_requests=requests, issued_utns=utns)


def _service_ids(facts: PacketFacts, ref: Any) -> list[str]:
    return sorted({sid for line in facts.services if (sid := appendix_a_service(line.code, ref))})


async def validate_packet(v: Validation, packet_id: uuid.UUID, run: int, trigger: m.Message, handler: str) -> str:
    """One validation run; returns what happened (for logs and tests)."""
    started = v.now()
    detail = await v.intake.packet(packet_id)
    if detail["state"] != "validating" or detail["validation_run"] != run:
        async with v.uow() as uow:
            await uow.record_inbox(handler, trigger)
            await uow.commit()
        return "stale"
    facts = facts_from_intake(detail)
    received_at = datetime.fromisoformat(detail["received_at"].replace("Z", "+00:00"))
    now = v.now()
    on: date = now.astimezone(UTC).date()
    ref = await v.reference.in_force(on)
    earlier = earlier_from_intake(facts, detail, ref) if "earlier_open_requests" in detail else None
    async with v.uow() as uow:
        await uow.seen.remember(facts, received_at, _service_ids(facts, ref))
        await uow.commit()
    today = local_today(facts.state, ref, now)
    eligibility, npis, enrollment = await ask_peers(v, facts, needed_peers(facts, ref), today)
    async with v.uow() as uow:
        if not await uow.record_inbox(handler, trigger):
            return "duplicate"
        # Requests for the same practitioner and beneficiary are decided one at a time.
        await uow.seen.hold_pair(facts.practitioner.npi, facts.beneficiary.mbi)
        history = await _history(uow, facts, received_at, earlier)
        found = run_checks(facts, eligibility, npis, enrollment, history, ref, now=now, served=v.served)
        outcome, reasons = decide(found, ref)
        if await uow.runs.exists(packet_id, run):
            await uow.commit()  # the inbox remembers this message: the run was recorded by another
            return "duplicate"
        await uow.runs.add(
            {
                "packet_id": packet_id,
                "run": run,
                "outcome": outcome.value,
                "trigger_message_id": trigger.message_id,
                "reference_on": on,
                "started_at": started,
                "finished_at": v.now(),
                "peers": {
                    "hets": getattr(eligibility, "status", "not_asked"),
                    "nppes": {k: r.status for k, r in npis.items()},
                    "pecos": getattr(enrollment, "status", "not_asked"),
                },
            },
            [
                {
                    "position": i,
                    "check": f.check,
                    "code": f.code,
                    "severity": f.severity,
                    "field": f.field,
                    "message": f.message,
                    "suggestion": f.suggestion,
                }
                for i, f in enumerate(found)
            ],
        )
        await uow.emit(
            trigger.caused(
                m.PacketValidated,
                producer="validation",
                packet_version=getattr(trigger, "version", None),
                run=run,
                outcome=outcome,
                findings=tuple(f for f in found if f.severity in ("dismiss", "correction")),
                dismissal_reasons=reasons,
            ),
        )
        await uow.commit()
    log.info(
        "packet validated",
        extra={
            "packet_id": str(packet_id),
            "run": run,
            "outcome": outcome.value,
            "codes": ",".join(sorted({f.code for f in found if f.severity != "info"})),
        },
    )
    return outcome.value


async def close_seen(uow_factory: UowFactory, packet_id: uuid.UUID) -> None:
    """A determined or closed packet is no longer an open request."""
    async with uow_factory() as uow:
        await uow.seen.close(packet_id)
        await uow.commit()


async def record_utn(uow_factory: UowFactory, packet_id: uuid.UUID, utn: str) -> None:
    async with uow_factory() as uow:
        await uow.seen.set_utn(packet_id, utn)
        await uow.commit()


async def request_rerun(
    v: Validation, packet_id: uuid.UUID, requested_by: str, on_behalf_of: str, reason: str
) -> m.RevalidatePacket:
    """Ask intake (a command, through the outbox) to validate a packet in manual review again."""
    command = m.RevalidatePacket(
        packet_id=packet_id,
        producer="validation",
        requested_by=requested_by,
        on_behalf_of=on_behalf_of,
        reason=reason,
    )
    async with v.uow() as uow:
        await uow.emit(command)
        await uow.commit()
    return command
