"""Submit, read, correct, dismiss and withdraw packets."""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import String, and_, delete, func, literal, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wiser_contracts import messages as m
from wiser_servicekit.crypto import cipher
from wiser_servicekit.identity import Identity
from wiser_servicekit.outbox import add_to_outbox
from wiser_servicekit.problems import Problem, validation_errors

from .. import reference
from ..adapters.tables import (
    corrections,
    diagnoses,
    documents,
    idempotency_keys,
    outbox,
    packets,
    service_lines,
    transitions,
)
from ..domain import clock
from ..domain import state_machine as sm
from ..domain.packet import CORRECTABLE, PacketIn, get_path, set_path
from .context import Intake
from .transitions import NotFound, Rejected, Result, apply_in_session, move_values, record_move

log = logging.getLogger("wiser.intake.packets")

SYSTEM = m.Actor(type=m.ActorType.SYSTEM, id="intake")


@dataclass
class IncomingDocument:
    """A document already checked (type sniffed, size measured, hashed) and ready to store."""

    document_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    category: str
    fileobj: IO[bytes]


def now() -> datetime:
    return datetime.now(UTC)


def request_hash(packet_json: dict[str, Any], docs: list[IncomingDocument]) -> str:
    canonical = json.dumps(packet_json, sort_keys=True, separators=(",", ":"), default=str)
    h = hashlib.sha256(canonical.encode())
    for d in docs:
        h.update(d.sha256.encode())
    return h.hexdigest()


def _search_keys(p: PacketIn) -> dict[str, Any]:
    return {
        "beneficiary_name": f"{p.beneficiary.first_name} {p.beneficiary.last_name}".lower(),
        "mbi_index": cipher().blind_index(p.beneficiary.mbi),
        "practitioner_npi": p.practitioner.npi,
    }


def _packet_columns(p: PacketIn) -> dict[str, Any]:
    data = p.model_dump(mode="json")
    return {
        "external_ref": p.external_ref,
        "submission_type": p.submission_type,
        "previous_utn": p.previous_utn,
        "review_type": p.review_type,
        "expedited_reason": p.expedited_reason,
        "state_of_service": p.state,
        "place_of_service": p.place_of_service,
        "type_of_bill": p.type_of_bill,
        "beneficiary": data["beneficiary"],
        "practitioner": data["practitioner"],
        "facility": data["facility"],
        "requester": data["requester"],
        **_search_keys(p),
    }


async def _write_lines(session: AsyncSession, packet_id: uuid.UUID, p: PacketIn, *, replace: bool = True) -> None:
    if replace:  # a correction rewrites the lines; a new packet has none yet
        await session.execute(delete(service_lines).where(service_lines.c.packet_id == packet_id))
        await session.execute(delete(diagnoses).where(diagnoses.c.packet_id == packet_id))
    await session.execute(
        service_lines.insert(),
        [
            {
                "packet_id": packet_id,
                "line_no": i + 1,
                "code": s.code,
                "units": s.units,
                "modifiers": s.modifiers,
                "date_of_service": s.date_of_service,
            }
            for i, s in enumerate(p.services)
        ],
    )
    if p.diagnosis_codes:
        await session.execute(
            diagnoses.insert(),
            [{"packet_id": packet_id, "position": i + 1, "code": c} for i, c in enumerate(p.diagnosis_codes)],
        )


async def _store_documents(ctx: Intake, packet_id: uuid.UUID, docs: list[IncomingDocument]) -> list[str]:
    keys: list[str] = []
    try:
        for d in docs:
            key = f"packets/{packet_id}/{d.document_id}"
            d.fileobj.seek(0)
            await ctx.store.put(key, d.fileobj, d.content_type, d.sha256)
            keys.append(key)
    except Exception:
        await ctx.store.delete(keys)
        raise
    return keys


async def _idempotent_replay(session: AsyncSession, client_id: str, key: str, req_hash: str) -> uuid.UUID | None:
    row = (
        await session.execute(
            select(idempotency_keys.c.request_hash, idempotency_keys.c.packet_id).where(
                idempotency_keys.c.client_id == client_id, idempotency_keys.c.key == key
            )
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != req_hash:
        raise Problem(
            422,
            "Idempotency key reused",
            "This Idempotency-Key was used with a different request body.",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return row.packet_id  # type: ignore[no-any-return]


async def submit_packet(
    ctx: Intake,
    client_id: str | None,
    packet: PacketIn,
    docs: list[IncomingDocument],
    *,
    idempotency_key: str | None = None,
    req_hash: str = "",
    channel: str = "api",
) -> tuple[bool, dict[str, Any]]:
    """Store a packet and its documents, then move it to validating (T1). Returns (created, summary)."""
    if idempotency_key and client_id:
        async with ctx.sessions() as session:
            existing = await _idempotent_replay(session, client_id, idempotency_key, req_hash)
        if existing:
            return False, await packet_summary(ctx, existing)
    packet_id = uuid.uuid4()
    received_at = now()
    keys = await _store_documents(ctx, packet_id, docs)
    # T1 is decided here and written in the same transaction as the packet: one transaction, no
    # re-read of the row just inserted. A packet is new, so it is `received` at version 1 with no run;
    # the state machine still decides (should it ever refuse T1, the packet stays `received` and
    # housekeeping tries T1 again, as it does for packets committed before this was one transaction).
    t1 = sm.Trigger(sm.RECEIVED, SYSTEM, now())
    t1_decision = sm.decide(sm.PacketView(state=m.PacketState.RECEIVED, validation_run=0), t1)
    moved = t1_decision if isinstance(t1_decision, sm.Move) else None
    state_values: dict[str, Any] = {
        "state": m.PacketState.RECEIVED.value,
        "version": 1,
        "validation_run": 0,
        "updated_at": received_at,
    }
    if moved is not None:
        state_values = move_values(moved, t1, 2)
    try:
        async with ctx.sessions() as session, session.begin():
            due = clock.due_at(received_at, packet.review_type)
            tracking = await session.scalar(
                packets.insert()
                .values(
                    id=packet_id,
                    tracking_number=_next_tracking_number(received_at),
                    partner_client_id=client_id,
                    channel=channel,
                    received_at=received_at,
                    due_at=due,
                    payload_hash=req_hash or request_hash(packet.model_dump(mode="json"), docs),
                    **_packet_columns(packet),
                    **state_values,
                )
                .returning(packets.c.tracking_number)
            )
            assert tracking is not None
            await _write_lines(session, packet_id, packet, replace=False)
            if docs:
                await session.execute(
                    documents.insert(),
                    [
                        {
                            "id": d.document_id,
                            "packet_id": packet_id,
                            "filename": d.filename,
                            "content_type": d.content_type,
                            "size": d.size,
                            "sha256": d.sha256,
                            "category": d.category,
                            "s3_key": k,
                            "uploaded_at": received_at,
                        }
                        for d, k in zip(docs, keys, strict=True)
                    ],
                )
            if idempotency_key and client_id:
                await session.execute(
                    idempotency_keys.insert().values(
                        client_id=client_id, key=idempotency_key, request_hash=req_hash, packet_id=packet_id
                    )
                )
            await add_to_outbox(
                session,
                outbox,
                m.PacketReceived(
                    packet_id=packet_id,
                    producer="intake",
                    tracking_number=tracking,
                    channel=channel,
                    review_type=packet.review_type,
                    state_of_service=packet.state,
                    service_codes=tuple(s.code for s in packet.services),
                    received_at=received_at,
                    due_at=due,
                ),
            )
            if moved is not None:  # after PacketReceived, as when T1 was its own transaction
                await record_move(session, packet_id, t1, moved, state_values, determination=None, utn=None)
    except IntegrityError:
        await ctx.store.delete(keys)
        if idempotency_key and client_id:
            # A concurrent request with the same key won the race: answer as it did.
            async with ctx.sessions() as session:
                existing = await _idempotent_replay(session, client_id, idempotency_key, req_hash)
            if existing:
                return False, await packet_summary(ctx, existing)
        raise
    except BaseException:
        await ctx.store.delete(keys)
        raise
    log.info("packet received", extra={"packet_id": str(packet_id), "documents": len(docs)})
    return True, {
        "packet_id": str(packet_id),
        "tracking_number": tracking,
        "state": state_values["state"],
        "review_type": packet.review_type,
        "received_at": _iso(received_at),
        "due_at": _iso(due),
    }


_TRACKING_SEQ = literal_column(
    "(SELECT lpad(s::text, greatest(8, length(s::text)), '0') FROM nextval('tracking_number_seq') AS s)", String
)


def _next_tracking_number(received_at: datetime) -> Any:
    """`WSR-<year>-<sequence, at least 8 digits>`, drawn from the sequence inside the INSERT itself."""
    return literal(f"WSR-{received_at:%Y}-", String) + _TRACKING_SEQ


async def start_validation(ctx: Intake, packet_id: uuid.UUID) -> Result:
    """T1 for a packet left in `received` (housekeeping); a new packet gets T1 in its submit transaction."""
    async with ctx.sessions() as session, session.begin():
        return await apply_in_session(session, packet_id, sm.Trigger(sm.RECEIVED, SYSTEM, now()))


# ----------------------------------------------------------------------------------------- reads


def _iso(d: datetime | None) -> str | None:
    return d.isoformat().replace("+00:00", "Z") if d else None


async def packet_summary(ctx: Intake, packet_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.sessions() as session:
        row = (await session.execute(select(packets).where(packets.c.id == packet_id))).first()
    assert row is not None
    return {
        "packet_id": str(row.id),
        "tracking_number": row.tracking_number,
        "state": row.state,
        "review_type": row.review_type,
        "received_at": _iso(row.received_at),
        "due_at": _iso(row.due_at),
    }


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


def partner_view(row: Any, history: list[Any]) -> dict[str, Any]:
    dismissal = None
    if row.dismissal:
        dismissal = {
            "code": row.dismissal["code"],
            "reason": row.dismissal.get("reason", ""),
            "all": row.dismissal.get("all", []),
        }
    return {
        "packet_id": str(row.id),
        "tracking_number": row.tracking_number,
        "external_ref": row.external_ref,
        "state": row.state,
        "review_type": row.review_type,
        "received_at": _iso(row.received_at),
        "due_at": _iso(row.due_at),
        "updated_at": _iso(row.updated_at),
        "closure_reason": row.closure_reason,
        "determination": _determination(row),
        "dismissal": dismissal,
        "letters": [
            {
                "letter_id": lt["letter_id"],
                "kind": lt["kind"],
                "url": f"/api/v1/packets/{row.id}/letters/{lt['letter_id']}",
            }
            for lt in (row.letters or [])
        ],
        "history": [{"from": h.from_state, "to": h.to_state, "at": _iso(h.at)} for h in history],
    }


async def get_for_partner(ctx: Intake, client_id: str, packet_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(packets).where(packets.c.id == packet_id, packets.c.partner_client_id == client_id)
            )
        ).first()
        if row is None:
            raise not_found()
        return partner_view(row, await _history(session, packet_id))


def not_found() -> Problem:
    return Problem(404, "Not found", "No such packet.", code="PACKET_NOT_FOUND")


def _encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
        assert isinstance(values, list) and len(values) == 2
        return values
    except Exception as e:
        raise Problem(400, "Bad cursor", "The cursor is not one this API issued.", code="BAD_CURSOR") from e


SORTS = {
    "-received_at": (packets.c.received_at, True),
    "received_at": (packets.c.received_at, False),
    "due_at": (packets.c.due_at, False),
    "-due_at": (packets.c.due_at, True),
    "-updated_at": (packets.c.updated_at, True),
}


async def _page(
    session: AsyncSession, where: list[Any], sort: str, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    column, desc = SORTS[sort]
    query = select(packets).where(*where)
    if cursor:
        value, last_id = _decode_cursor(cursor)
        at = datetime.fromisoformat(value)
        pid = uuid.UUID(last_id)
        if desc:
            query = query.where(or_(column < at, and_(column == at, packets.c.id < pid)))
        else:
            query = query.where(or_(column > at, and_(column == at, packets.c.id > pid)))
    order = (column.desc(), packets.c.id.desc()) if desc else (column.asc(), packets.c.id.asc())
    rows = list((await session.execute(query.order_by(*order).limit(limit + 1))).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor([getattr(last, column.key).isoformat(), str(last.id)])
    return rows, next_cursor


async def list_for_partner(
    ctx: Intake,
    client_id: str,
    *,
    external_ref: str | None,
    state: str | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    where: list[Any] = [packets.c.partner_client_id == client_id]
    if external_ref:
        where.append(packets.c.external_ref == external_ref)
    if state:
        where.append(packets.c.state == state)
    if updated_since:
        where.append(packets.c.updated_at >= updated_since)
    async with ctx.sessions() as session:
        rows, next_cursor = await _page(session, where, "-received_at", cursor, limit)
        items = [partner_view(r, await _history(session, r.id)) for r in rows]
    return {"items": items, "next_cursor": next_cursor}


# ------------------------------------------------------------------------------------- ops reads


OPEN_STATES = tuple(s.value for s in sm.BEFORE_DETERMINATION)


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
        term = q.strip()
        where.append(
            or_(
                packets.c.beneficiary_name.like(term.lower().replace("%", r"\%").replace("_", r"\_") + "%"),
                packets.c.beneficiary_name.like("% " + term.lower().replace("%", r"\%").replace("_", r"\_") + "%"),
                packets.c.mbi_index == cipher().blind_index(term),
                packets.c.tracking_number == term.upper(),
                packets.c.utn == term.upper(),
            )
        )
    if sort not in SORTS:
        raise Problem(422, "Invalid sort", f"sort must be one of {sorted(SORTS)}", code="BAD_SORT")
    async with ctx.sessions() as session:
        rows, next_cursor = await _page(session, where, sort, cursor, limit)
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


async def packet_facts(ctx: Intake, packet_id: uuid.UUID) -> dict[str, Any]:
    """What validation reads: the packet detail without history, documents and corrections, with
    `document_count` instead of the documents list; two queries instead of six."""
    window = timedelta(hours=ctx.settings.at_risk_hours)
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(
                    packets,
                    select(func.count())
                    .where(documents.c.packet_id == packet_id)
                    .scalar_subquery()
                    .label("document_count"),
                    select(func.array_agg(aggregate_order_by(diagnoses.c.code, diagnoses.c.position)))
                    .where(diagnoses.c.packet_id == packet_id)
                    .scalar_subquery()
                    .label("diagnosis_codes"),
                ).where(packets.c.id == packet_id)
            )
        ).first()
        if row is None:
            raise not_found()
        lines = (await session.execute(_lines_query(packet_id))).all()
    return {**_detail_core(row, lines, row.diagnosis_codes or [], window), "document_count": row.document_count}


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
) -> tuple[Any, bytes]:
    async with ctx.sessions() as session:
        query = select(documents).where(documents.c.id == document_id, documents.c.packet_id == packet_id)
        if owner is not None:
            query = query.join(packets, packets.c.id == documents.c.packet_id).where(
                packets.c.partner_client_id == owner
            )
        doc = (await session.execute(query)).first()
    if doc is None:
        raise Problem(404, "Not found", "No such document.", code="DOCUMENT_NOT_FOUND")
    try:
        return doc, await ctx.store.get(doc.s3_key)
    except LookupError as e:
        log.error("document bytes missing from storage", extra={"packet_id": str(packet_id)})
        raise Problem(
            404, "Document unavailable", "The document's bytes are missing from storage.", code="DOCUMENT_BYTES_MISSING"
        ) from e


# --------------------------------------------------------------------------------- changes


def _actor(identity: Identity) -> m.Actor:
    return m.Actor(type=m.ActorType.USER, id=identity.user_id, roles=tuple(sorted(identity.roles)))


def _raise_for(result: Result) -> None:
    if isinstance(result, NotFound):
        raise not_found()
    if isinstance(result, Rejected):
        if result.reject.code == "VERSION_MISMATCH":
            raise Problem(
                412,
                "Version mismatch",
                f"{result.reject.detail}; reload it and apply your changes again.",
                code="VERSION_MISMATCH",
            )
        status = 403 if result.reject.code == "ROLE_FORBIDDEN" else 409
        raise Problem(
            status,
            "Transition not allowed" if status == 409 else "Forbidden",
            result.reject.detail,
            code=result.reject.code,
        )


def _current_doc(row: Any, lines: list[Any], dx: list[str]) -> dict[str, Any]:
    return {
        "external_ref": row.external_ref,
        "submission_type": row.submission_type,
        "previous_utn": row.previous_utn,
        "review_type": row.review_type,
        "expedited_reason": row.expedited_reason,
        "state": row.state_of_service,
        "place_of_service": row.place_of_service,
        "type_of_bill": row.type_of_bill,
        "beneficiary": copy.deepcopy(row.beneficiary),
        "practitioner": copy.deepcopy(row.practitioner),
        "facility": copy.deepcopy(row.facility),
        "requester": copy.deepcopy(row.requester),
        "services": [
            {
                "code": ln.code,
                "units": ln.units,
                "modifiers": list(ln.modifiers),
                "date_of_service": ln.date_of_service.isoformat(),
            }
            for ln in lines
        ],
        "diagnosis_codes": list(dx),
    }


async def correct_packet(
    ctx: Intake, identity: Identity, packet_id: uuid.UUID, if_match: int, changes: list[dict[str, Any]]
) -> dict[str, Any]:
    """T5: apply ops' field corrections (each with a reason), record old/new values, validate again."""
    for c in changes:
        if c.get("field") not in CORRECTABLE:
            raise Problem(
                422,
                "Field not correctable",
                f"{c.get('field')!r} cannot be corrected here.",
                code="FIELD_NOT_CORRECTABLE",
                errors=[
                    {
                        "field": str(c.get("field")),
                        "code": "FIELD_NOT_CORRECTABLE",
                        "message": "not a correctable field",
                    }
                ],
            )
    at = now()
    trigger = sm.Trigger(
        sm.OPS_CORRECT,
        _actor(identity),
        at,
        data={"corrections": changes},
        reason="; ".join(f"{c['field']}: {c.get('reason', '')}" for c in changes)[:1000],
    )

    async def apply_corrections(session: AsyncSession, row: Any, move: sm.Move) -> None:
        lines = list(
            (
                await session.execute(
                    select(service_lines)
                    .where(service_lines.c.packet_id == packet_id)
                    .order_by(service_lines.c.line_no)
                )
            ).all()
        )
        dx = list(
            (
                await session.execute(
                    select(diagnoses.c.code).where(diagnoses.c.packet_id == packet_id).order_by(diagnoses.c.position)
                )
            )
            .scalars()
            .all()
        )
        doc = _current_doc(row, lines, dx)
        olds = []
        for c in changes:
            olds.append(copy.deepcopy(get_path(doc, c["field"])))
            set_path(doc, c["field"], c.get("value"))
        try:
            fixed = PacketIn.model_validate(doc)
        except ValidationError as e:
            raise Problem(
                422,
                "Invalid correction",
                "The corrected packet is not well formed.",
                code="VALIDATION_FAILED",
                errors=validation_errors(list(e.errors())),
            ) from e
        columns = _packet_columns(fixed)
        columns.pop("external_ref")
        columns.pop("submission_type")
        columns.pop("review_type")
        await session.execute(update(packets).where(packets.c.id == packet_id).values(**columns))
        await _write_lines(session, packet_id, fixed)
        await session.execute(
            corrections.insert(),
            [
                {
                    "packet_id": packet_id,
                    "version": row.version + 1,
                    "field": c["field"],
                    "old_value": old,
                    "new_value": c.get("value"),
                    "reason": c["reason"],
                    "actor_id": identity.user_id,
                    "at": at,
                }
                for c, old in zip(changes, olds, strict=True)
            ],
        )
        await add_to_outbox(
            session,
            outbox,
            m.PacketCorrected(
                packet_id=packet_id,
                producer="intake",
                fields=tuple(c["field"] for c in changes),
                version=row.version + 1,
            ),
        )

    async with ctx.sessions() as session, session.begin():
        result = await apply_in_session(
            session, packet_id, trigger, before_move=apply_corrections, expected_version=if_match
        )
    _raise_for(result)
    return await packet_detail(ctx, packet_id)


async def dismiss_packet(ctx: Intake, identity: Identity, packet_id: uuid.UUID, code: str, note: str) -> dict[str, Any]:
    """T6: ops dismisses a packet in manual review with a reason code from the reference list."""
    reasons = reference.dismissal_reasons(date.today())
    trigger = sm.Trigger(
        sm.OPS_DISMISS,
        _actor(identity),
        now(),
        data={
            "code": code,
            "note": note,
            "allowed_codes": tuple(reasons),
            "reason_text": reasons.get(code, {}).get("reason", ""),
        },
        reason=f"{code}: {note}"[:1000],
    )
    async with ctx.sessions() as session, session.begin():
        result = await apply_in_session(session, packet_id, trigger)
    _raise_for(result)
    return await packet_detail(ctx, packet_id)


async def withdraw_packet(
    ctx: Intake, packet_id: uuid.UUID, reason: str, *, partner: str | None = None, identity: Identity | None = None
) -> Result:
    """T19: the requester (its own packets) or a supervisor closes a packet before determination."""
    if partner is not None:
        actor = m.Actor(type=m.ActorType.PARTNER, id=partner)
    else:
        assert identity is not None
        actor = _actor(identity)
    trigger = sm.Trigger(sm.WITHDRAW, actor, now(), data={}, reason=reason[:1000] or "withdrawn")
    async with ctx.sessions() as session, session.begin():
        result = await apply_in_session(session, packet_id, trigger, owner=partner)
    _raise_for(result)
    return result


# ----------------------------------------------------------------------------------- housekeeping


async def housekeeping(ctx: Intake) -> dict[str, int]:
    """Finish T1 for packets left in `received` and raise SLA breaches once per packet."""
    t = now()
    async with ctx.sessions() as session:
        stuck = (
            (
                await session.execute(
                    select(packets.c.id)
                    .where(packets.c.state == "received", packets.c.received_at < t - timedelta(seconds=10))
                    .limit(500)
                )
            )
            .scalars()
            .all()
        )
    for pid in stuck:
        with contextlib.suppress(Exception):
            await start_validation(ctx, pid)
    breached = 0
    async with ctx.sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(packets.c.id, packets.c.state, packets.c.due_at)
                .where(packets.c.due_at < t, packets.c.sla_breached_at.is_(None), packets.c.state.in_(OPEN_STATES))
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for r in rows:
            await session.execute(update(packets).where(packets.c.id == r.id).values(sla_breached_at=t))
            await add_to_outbox(
                session,
                outbox,
                m.PacketSlaBreached(
                    packet_id=r.id,
                    producer="intake",
                    state=m.PacketState(r.state),
                    due_at=r.due_at,
                ),
            )
            breached += 1
    return {"resumed": len(stuck), "breached": breached}


async def add_document(ctx: Intake, client_id: str, packet_id: uuid.UUID, doc: IncomingDocument) -> dict[str, Any]:
    """Attach one more document to a partner's packet that is not yet determined."""
    from ..domain.documents import MAX_DOCUMENTS

    key = f"packets/{packet_id}/{doc.document_id}"
    async with ctx.sessions() as session, session.begin():
        row = (
            await session.execute(
                select(packets.c.state)
                .where(packets.c.id == packet_id, packets.c.partner_client_id == client_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise not_found()
        if row.state not in OPEN_STATES:
            raise Problem(
                409,
                "Packet is decided",
                "Documents can be added only before a determination.",
                code="ILLEGAL_TRANSITION",
            )
        count = await session.scalar(select(func.count()).where(documents.c.packet_id == packet_id))
        if (count or 0) >= MAX_DOCUMENTS:
            raise Problem(
                413,
                "Too many documents",
                f"A packet holds at most {MAX_DOCUMENTS} documents.",
                code="TOO_MANY_DOCUMENTS",
            )
        doc.fileobj.seek(0)
        await ctx.store.put(key, doc.fileobj, doc.content_type, doc.sha256)
        try:
            await session.execute(
                documents.insert().values(
                    id=doc.document_id,
                    packet_id=packet_id,
                    filename=doc.filename,
                    content_type=doc.content_type,
                    size=doc.size,
                    sha256=doc.sha256,
                    category=doc.category,
                    s3_key=key,
                    uploaded_at=now(),
                )
            )
            await session.flush()
        except BaseException:
            await ctx.store.delete([key])
            raise
    return {
        "document_id": str(doc.document_id),
        "filename": doc.filename,
        "content_type": doc.content_type,
        "size": doc.size,
        "sha256": doc.sha256,
        "category": doc.category,
    }
