"""Reading packets (the read side: views straight from intake's tables): the ops search, counts, detail and
facts. The partner's view and list are `partner_views.py`'s, paging is `cursor.py`'s."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wiser_contracts import messages as m
from wiser_servicekit.rawsql import decode, driver_connection

from ..adapters.search_keys import matches_term
from ..adapters.tables import (
    corrections,
    diagnoses,
    documents,
    packets,
    service_lines,
    transitions,
)
from ..domain import clock
from .common import OPEN_STATES, _iso, log, not_found, now
from .context import Intake
from .cursor import SORTS, page
from .errors import Invalid, NotFound


def _determination(row: Any) -> dict[str, Any] | None:
    det = row.determination
    if not det:
        return None
    decided_at = datetime.fromisoformat(det["decided_at"])
    valid_until = None
    if det["outcome"] in ("affirmed", "partially_affirmed"):
        valid_until = (decided_at + timedelta(days=120)).date().isoformat()
    return {
        "outcome": det["outcome"],
        "utn": row.utn,
        "decided_at": _iso(decided_at),
        "valid_until": valid_until,
        "lines": [
            {"code": ln["code"], "outcome": ln["outcome"], "reasons": list(ln.get("reasons", []))}
            for ln in det.get("lines", [])
        ],
    }


async def _history(session: AsyncSession, packet_id: uuid.UUID) -> list[Any]:
    return list(
        (
            await session.execute(
                select(transitions).where(transitions.c.packet_id == packet_id).order_by(transitions.c.id)
            )
        ).all()
    )


# ------------------------------------------------------------------------------------- ops reads


def ops_row(row: Any, at_risk_window: timedelta) -> dict[str, Any]:
    t = now()
    is_open = row.state in OPEN_STATES
    return {
        "packet_id": str(row.id),
        "tracking_number": row.tracking_number,
        "state": row.state,
        "version": row.version,
        "review_type": row.review_type,
        "state_of_service": row.state_of_service,
        "channel": row.channel,
        "beneficiary_name": f"{row.beneficiary['first_name']} {row.beneficiary['last_name']}",
        "mbi": str(row.beneficiary.get("mbi", "")).upper(),
        "utn": row.utn,
        "received_at": _iso(row.received_at),
        "due_at": _iso(row.due_at),
        "updated_at": _iso(row.updated_at),
        "seconds_to_due": int((row.due_at - t).total_seconds()),
        "at_risk": is_open and clock.at_risk(row.due_at, t, at_risk_window),
        "outcome": (row.determination or {}).get("outcome"),
    }


async def search_packets(
    ctx: Intake,
    *,
    state: list[str] | None = None,
    service_code: str | None = None,
    state_of_service: str | None = None,
    review_type: str | None = None,
    due_before: datetime | None = None,
    at_risk: bool | None = None,
    q: str | None = None,
    sort: str = "-received_at",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    window = timedelta(hours=ctx.settings.at_risk_hours)
    where: list[Any] = []
    if state:
        where.append(packets.c.state.in_(state))
    if service_code:
        where.append(
            packets.c.id.in_(select(service_lines.c.packet_id).where(service_lines.c.code == service_code.upper()))
        )
    if state_of_service:
        where.append(packets.c.state_of_service == state_of_service.upper())
    if review_type:
        where.append(packets.c.review_type == review_type)
    if due_before:
        where.append(packets.c.due_at < due_before)
    if at_risk is not None:
        risky = and_(packets.c.state.in_(OPEN_STATES), packets.c.due_at <= now() + window)
        where.append(risky if at_risk else ~risky)
    if q and q.strip():
        where.append(or_(*matches_term(q.strip())))  # names and MBIs through their blind indexes only
    if sort not in SORTS:
        raise Invalid("BAD_SORT", f"sort must be one of {sorted(SORTS)}", title="Invalid sort")
    async with ctx.sessions() as session:
        rows, next_cursor = await page(session, where, sort, cursor, limit)
    return {"items": [ops_row(r, window) for r in rows], "next_cursor": next_cursor}


_COUNTS: dict[str, Any] = {"at": 0.0, "counts": None}
COUNTS_TTL = 0.5  # seconds: every open dashboard asks on each refresh; half a second stale is invisible


async def state_counts(ctx: Intake) -> dict[str, int]:
    """Packets per state (a full count, shared between callers for half a second)."""
    import time

    if _COUNTS["counts"] is not None and time.monotonic() - _COUNTS["at"] < COUNTS_TTL:
        return dict(_COUNTS["counts"])
    async with ctx.sessions() as session:
        rows = (await session.execute(select(packets.c.state, func.count()).group_by(packets.c.state))).all()
    counts = {s.value: 0 for s in m.PacketState}
    counts.update({r[0]: int(r[1]) for r in rows})
    _COUNTS.update(at=time.monotonic(), counts=counts)
    return dict(counts)


def _detail_core(row: Any, lines: Any, dx: list[str], window: timedelta) -> dict[str, Any]:
    """The packet itself as the ops detail shows it (without documents, history and corrections)."""
    return {
        **ops_row(row, window),
        "external_ref": row.external_ref,
        "partner_client_id": row.partner_client_id,
        "letters": list(row.letters or []),
        "submission_type": row.submission_type,
        "previous_utn": row.previous_utn,
        "expedited_reason": row.expedited_reason,
        "place_of_service": row.place_of_service,
        "type_of_bill": row.type_of_bill,
        "validation_run": row.validation_run,
        "beneficiary": row.beneficiary,
        "practitioner": row.practitioner,
        "facility": row.facility,
        "requester": row.requester,
        "services": [
            {
                "line_no": ln.line_no,
                "code": ln.code,
                "units": ln.units,
                "modifiers": list(ln.modifiers),
                "date_of_service": ln.date_of_service.isoformat(),
            }
            for ln in lines
        ],
        "diagnosis_codes": list(dx),
        "determination": _determination(row),
        "dismissal": row.dismissal,
        "closure_reason": row.closure_reason,
        "sla_breached_at": _iso(row.sla_breached_at),
    }


def _lines_query(packet_id: uuid.UUID) -> Any:
    return select(service_lines).where(service_lines.c.packet_id == packet_id).order_by(service_lines.c.line_no)


# What validation and clinical read for every packet, in one statement: the packet, its document count, its
# diagnoses and lines, and the earlier open requests of the same practitioner for the same beneficiary (MBI) that
# intake received before it (received_at, then tracking number): validation's duplicate check judges in intake's
# receipt order whatever order it validates in (DOMAIN.md). Names are the service's own tables (its schema is the
# connection's search_path); every value is a parameter.
_FACTS_SQL = """
SELECT p.*,
  (SELECT count(*) FROM documents d WHERE d.packet_id = p.id) AS document_count,
  (SELECT array_agg(x.code ORDER BY x.position) FROM diagnoses x WHERE x.packet_id = p.id) AS diagnosis_codes,
  (SELECT json_agg(json_build_object('line_no', l.line_no, 'code', l.code, 'units', l.units,
                                     'modifiers', l.modifiers, 'date_of_service', l.date_of_service)
                   ORDER BY l.line_no)
     FROM service_lines l WHERE l.packet_id = p.id) AS lines,
  (SELECT json_agg(json_build_object('packet_id', e.id, 'tracking_number', e.tracking_number,
                                     'received_at', e.received_at, 'codes', e.codes)
                   ORDER BY e.received_at, e.tracking_number)
     FROM (SELECT o.id, o.tracking_number, o.received_at, array_agg(ol.code) AS codes
             FROM packets o JOIN service_lines ol ON ol.packet_id = o.id
            WHERE o.mbi_index = p.mbi_index AND o.practitioner_npi = p.practitioner_npi AND o.state = ANY($2)
              AND o.id <> p.id AND (o.received_at, o.tracking_number) < (p.received_at, p.tracking_number)
            GROUP BY o.id) e) AS earlier
FROM packets p WHERE p.id = $1
"""
_OPEN_STATES = sorted(OPEN_STATES)


def _json_list(value: Any) -> list[Any]:
    """A json_agg column: NULL when nothing matched; decoded already, or text, by the connection's codec."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


async def packet_facts(ctx: Intake, packet_id: uuid.UUID) -> dict[str, Any]:
    """What validation and clinical read: the packet detail without history, documents and corrections, with
    `document_count` instead of the documents list and the earlier open requests; one prepared statement (it
    runs twice for every packet, so it skips SQLAlchemy's statement machinery: `rawsql`)."""
    window = timedelta(hours=ctx.settings.at_risk_hours)
    async with ctx.sessions() as session:
        conn = await driver_connection(session, transaction=False)
        record = await conn.fetchrow(_FACTS_SQL, packet_id, _OPEN_STATES)
    if record is None:
        raise not_found()
    row = decode(packets, record)
    lines = [
        SimpleNamespace(**{**ln, "date_of_service": date.fromisoformat(ln["date_of_service"])})
        for ln in _json_list(record["lines"])
    ]
    earlier = [
        {
            "packet_id": e["packet_id"],
            "tracking_number": e["tracking_number"],
            "received_at": _iso(datetime.fromisoformat(e["received_at"]).astimezone(UTC)),
            "codes": sorted(set(e["codes"])),
        }
        for e in _json_list(record["earlier"])
    ]
    return {
        **_detail_core(row, lines, record["diagnosis_codes"] or [], window),
        "document_count": record["document_count"],
        "earlier_open_requests": earlier,
    }


async def packet_detail(ctx: Intake, packet_id: uuid.UUID) -> dict[str, Any]:
    window = timedelta(hours=ctx.settings.at_risk_hours)
    async with ctx.sessions() as session:
        row = (await session.execute(select(packets).where(packets.c.id == packet_id))).first()
        if row is None:
            raise not_found()
        history = await _history(session, packet_id)
        lines = (await session.execute(_lines_query(packet_id))).all()
        dx = (
            (
                await session.execute(
                    select(diagnoses.c.code).where(diagnoses.c.packet_id == packet_id).order_by(diagnoses.c.position)
                )
            )
            .scalars()
            .all()
        )
        docs = (
            await session.execute(
                select(documents).where(documents.c.packet_id == packet_id).order_by(documents.c.uploaded_at)
            )
        ).all()
        fixes = (
            await session.execute(
                select(corrections).where(corrections.c.packet_id == packet_id).order_by(corrections.c.id)
            )
        ).all()
    return {
        **_detail_core(row, lines, list(dx), window),
        "documents": [
            {
                "document_id": str(d.id),
                "filename": d.filename,
                "content_type": d.content_type,
                "size": d.size,
                "sha256": d.sha256,
                "category": d.category,
                "uploaded_at": _iso(d.uploaded_at),
            }
            for d in docs
        ],
        "history": [
            {
                "transition": h.transition,
                "from": h.from_state,
                "to": h.to_state,
                "trigger": h.trigger,
                "actor_type": h.actor_type,
                "actor_id": h.actor_id,
                "reason": h.reason,
                "message_id": str(h.message_id) if h.message_id else None,
                "version": h.version,
                "based_on_version": h.based_on_version,  # the packet version the trigger was produced from
                "at": _iso(h.at),
            }
            for h in history
        ],
        "corrections": [
            {
                "version": c.version,
                "field": c.field,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "reason": c.reason,
                "actor_id": c.actor_id,
                "at": _iso(c.at),
            }
            for c in fixes
        ],
    }


async def document_for(
    ctx: Intake, packet_id: uuid.UUID, document_id: uuid.UUID, owner: str | None = None
) -> tuple[Any, AsyncIterator[bytes]]:
    """The document's row and its bytes as they stream from S3 (the row's connection is back in the pool
    before the transfer starts)."""
    async with ctx.sessions() as session:
        query = select(documents).where(documents.c.id == document_id, documents.c.packet_id == packet_id)
        if owner is not None:
            query = query.join(packets, packets.c.id == documents.c.packet_id).where(
                packets.c.partner_client_id == owner
            )
        doc = (await session.execute(query)).first()
    if doc is None:
        raise NotFound("DOCUMENT_NOT_FOUND", "No such document.")
    try:
        stream, _ = await ctx.store.open(doc.s3_key)
        return doc, stream
    except LookupError as e:
        log.error("document bytes missing from storage", extra={"packet_id": str(packet_id)})
        raise NotFound(
            "DOCUMENT_BYTES_MISSING", "The document's bytes are missing from storage.", title="Document unavailable"
        ) from e
