"""Submitting a packet (T1 in the same transaction) and adding a document to one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, delete, func, literal, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wiser_contracts import messages as m
from wiser_servicekit.crypto import cipher
from wiser_servicekit.outbox import add_to_outbox

from ..adapters.tables import (
    diagnoses,
    documents,
    idempotency_keys,
    outbox,
    packets,
    service_lines,
)
from ..domain import clock
from ..domain import state_machine as sm
from ..domain.packet import PacketIn
from .common import SYSTEM, IncomingDocument, _iso, log, not_found, now, request_hash
from .context import Intake
from .errors import Invalid, NotAllowed, TooMany
from .queries import OPEN_STATES, packet_summary
from .transitions import Result, apply_in_session, move_values, record_move


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
        raise Invalid(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used with a different request body.",
            title="Idempotency key reused",
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
            raise NotAllowed(
                "ILLEGAL_TRANSITION", "Documents can be added only before a determination.", title="Packet is decided"
            )
        count = await session.scalar(select(func.count()).where(documents.c.packet_id == packet_id))
        if (count or 0) >= MAX_DOCUMENTS:
            raise TooMany(
                "TOO_MANY_DOCUMENTS", f"A packet holds at most {MAX_DOCUMENTS} documents.", title="Too many documents"
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
