"""Validate a packet: fetch it from intake, ask the peers, run every check, record the run, report the outcome."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts import messages as m
from wiser_servicekit.crypto import cipher
from wiser_servicekit.outbox import add_to_outbox, record_in_inbox

from ..adapters.intake import IntakeClient
from ..adapters.peers import Peers, PeerUnavailable
from ..adapters.reference_store import ReferenceStore
from ..adapters.tables import findings, inbox, outbox, packets_seen, runs
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
from ..domain.checks import CHECK_CODES

log = logging.getLogger("wiser.validation")


@dataclass
class Validation:
    sessions: async_sessionmaker[AsyncSession]
    intake: IntakeClient
    peers: Peers
    reference: ReferenceStore
    today: Any = field(default=lambda: datetime.now(UTC).date())


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


async def _eligibility(v: Validation, facts: PacketFacts) -> Eligibility:
    dos = min(line.date_of_service for line in facts.services)
    try:
        return await v.peers.hets.eligibility(facts, dos)
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


async def ask_peers(v: Validation, facts: PacketFacts, wanted: set[str]) -> tuple[Any, dict[str, NpiRecord], Any]:
    """Ask the peers the checks need, side by side."""
    eligibility_task = _eligibility(v, facts) if "hets" in wanted else None
    npis = list(npis_to_look_up(facts)) if "nppes" in wanted else []
    results = await asyncio.gather(
        eligibility_task if eligibility_task is not None else asyncio.sleep(0, None),
        asyncio.gather(*(_npi(v, n) for n in npis)),
        _enrollment(v, facts.practitioner.npi) if "pecos" in wanted else asyncio.sleep(0, None),
    )
    eligibility, npi_records, enrollment = results
    return eligibility, {r.npi: r for r in npi_records}, enrollment


async def _history(session: AsyncSession, facts: PacketFacts, received_at: datetime) -> History:
    """Open requests received before this one with the same practitioner and beneficiary; UTNs we issued."""
    pid = uuid.UUID(str(facts.packet_id))
    open_rows = (
        await session.execute(
            select(packets_seen).where(
                packets_seen.c.practitioner_npi == facts.practitioner.npi,
                packets_seen.c.mbi_index == cipher().blind_index(facts.beneficiary.mbi),
                packets_seen.c.open.is_(True),
                packets_seen.c.packet_id != pid,
                or_(
                    packets_seen.c.received_at < received_at,
                    and_(packets_seen.c.received_at == received_at, packets_seen.c.packet_id < pid),
                ),
            )
        )
    ).all()
    requests = tuple(
        # Matched by the MBI's blind index, so the MBI is the packet's own.
        OpenRequest(
            practitioner_npi=r.practitioner_npi, mbi=facts.beneficiary.mbi, service_id=s, packet_id=str(r.packet_id)
        )
        for r in open_rows
        for s in r.service_ids
    )
    utns: tuple[IssuedUtn, ...] = ()
    if facts.previous_utn:
        utn_rows = (await session.execute(select(packets_seen).where(packets_seen.c.utn == facts.previous_utn))).all()
        utns = tuple(
            IssuedUtn(
                utn=r.utn,
                first_name=r.identity["first_name"],
                last_name=r.identity["last_name"],
                date_of_birth=date.fromisoformat(r.identity["date_of_birth"]),
                packet_id=str(r.packet_id),
            )
            for r in utn_rows
        )
    return History(open_requests=requests, issued_utns=utns)


async def remember(session: AsyncSession, facts: PacketFacts, received_at: datetime, ref: Any) -> None:
    service_ids = sorted({sid for line in facts.services if (sid := appendix_a_service(line.code, ref))})
    values = {
        "practitioner_npi": facts.practitioner.npi,
        "mbi_index": cipher().blind_index(facts.beneficiary.mbi),
        "service_ids": service_ids,
        "received_at": received_at,
        "identity": {
            "first_name": facts.beneficiary.first_name,
            "last_name": facts.beneficiary.last_name,
            "date_of_birth": facts.beneficiary.date_of_birth.isoformat(),
        },
    }
    await session.execute(
        insert(packets_seen)
        .values(packet_id=uuid.UUID(str(facts.packet_id)), **values)
        .on_conflict_do_update(index_elements=[packets_seen.c.packet_id], set_=values)
    )


async def validate_packet(v: Validation, packet_id: uuid.UUID, run: int, trigger: m.Message, handler: str) -> str:
    """One validation run; returns what happened (for logs and tests)."""
    started = datetime.now(UTC)
    detail = await v.intake.packet(packet_id)
    if detail["state"] != "validating" or detail["validation_run"] != run:
        async with v.sessions() as session, session.begin():
            await record_in_inbox(session, inbox, trigger.message_id, handler)
        return "stale"
    facts = facts_from_intake(detail)
    received_at = datetime.fromisoformat(detail["received_at"].replace("Z", "+00:00"))
    on: date = v.today()
    ref = await v.reference.in_force(on)
    async with v.sessions() as session, session.begin():
        await remember(session, facts, received_at, ref)
    eligibility, npis, enrollment = await ask_peers(v, facts, needed_peers(facts, ref))
    async with v.sessions() as session, session.begin():
        if not await record_in_inbox(session, inbox, trigger.message_id, handler):
            return "duplicate"
        # Requests for the same practitioner and beneficiary are decided one at a time.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
            {"k": f"{facts.practitioner.npi}|{cipher().blind_index(facts.beneficiary.mbi)}"},
        )
        history = await _history(session, facts, received_at)
        found = run_checks(facts, eligibility, npis, enrollment, history, ref)
        outcome, reasons = decide(found, ref)
        exists = await session.scalar(select(func.count()).where(runs.c.packet_id == packet_id, runs.c.run == run))
        if exists:
            return "duplicate"
        run_id = await session.scalar(
            runs.insert()
            .values(
                packet_id=packet_id,
                run=run,
                outcome=outcome.value,
                trigger_message_id=trigger.message_id,
                reference_on=on,
                started_at=started,
                finished_at=datetime.now(UTC),
                peers={
                    "hets": getattr(eligibility, "status", "not_asked"),
                    "nppes": {k: r.status for k, r in npis.items()},
                    "pecos": getattr(enrollment, "status", "not_asked"),
                },
            )
            .returning(runs.c.id)
        )
        if found:
            await session.execute(
                findings.insert(),
                [
                    {
                        "run_id": run_id,
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
        await add_to_outbox(
            session,
            outbox,
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


async def close_seen(sessions: async_sessionmaker[AsyncSession], packet_id: uuid.UUID) -> None:
    """A determined or closed packet is no longer an open request."""
    async with sessions() as session, session.begin():
        await session.execute(update(packets_seen).where(packets_seen.c.packet_id == packet_id).values(open=False))


async def record_utn(sessions: async_sessionmaker[AsyncSession], packet_id: uuid.UUID, utn: str) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(packets_seen).where(packets_seen.c.packet_id == packet_id).values(utn=utn))


async def report(sessions: async_sessionmaker[AsyncSession], packet_id: uuid.UUID) -> dict[str, Any]:
    """Every run of a packet with every check's result (passed ones too)."""
    async with sessions() as session:
        run_rows = (await session.execute(select(runs).where(runs.c.packet_id == packet_id).order_by(runs.c.run))).all()
        finding_rows = (
            await session.execute(
                select(findings)
                .where(findings.c.run_id.in_([r.id for r in run_rows] or [0]))
                .order_by(findings.c.run_id, findings.c.position)
            )
        ).all()
    out = []
    for r in run_rows:
        mine = [f for f in finding_rows if f.run_id == r.id]
        checks = []
        for check, code in CHECK_CODES.items():
            own = [f for f in mine if f.check == check and f.severity != "info"]
            result = "passed" if not own else ("skipped" if all(f.severity == "skipped" for f in own) else "failed")
            found_codes = sorted({f.code for f in own})
            checks.append({"check": check, "code": ", ".join(found_codes) if own else code, "result": result})
        out.append(
            {
                "run": r.run,
                "outcome": r.outcome,
                "reference_on": r.reference_on.isoformat(),
                "peers": r.peers,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat(),
                "checks": checks,
                "findings": [
                    {
                        "check": f.check,
                        "code": f.code,
                        "severity": f.severity,
                        "field": f.field,
                        "message": f.message,
                        "suggestion": f.suggestion,
                    }
                    for f in mine
                ],
            }
        )
    return {"packet_id": str(packet_id), "runs": out}
