"""Submitting a packet (T1 in the same transaction) and adding a document to one."""

from __future__ import annotations

import uuid
from typing import Any

from wiser_contracts import messages as m

from ..domain import clock
from ..domain import state_machine as sm
from ..domain.documents import MAX_DOCUMENTS
from ..domain.packet import PacketIn
from .common import OPEN_STATES, SYSTEM, IncomingDocument, _iso, log, not_found, request_hash, summary_of
from .context import Intake
from .errors import Invalid, NotAllowed, TooMany
from .ports import UnitOfWork
from .transitions import Result, apply_and_commit, move_values, record_move


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


class _KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


async def _idempotent_replay(uow: UnitOfWork, client_id: str, key: str, req_hash: str) -> uuid.UUID | None:
    found = await uow.idempotency.find(client_id, key)
    if found is None:
        return None
    if found[0] != req_hash:
        raise Invalid(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used with a different request body.",
            title="Idempotency key reused",
        )
    return found[1]


async def _replay(ctx: Intake, client_id: str, key: str, req_hash: str) -> dict[str, Any] | None:
    async with ctx.uow() as uow:
        existing = await _idempotent_replay(uow, client_id, key, req_hash)
        row = await uow.packets.get(existing) if existing else None
    return summary_of(row) if row is not None else None


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
        replayed = await _replay(ctx, client_id, idempotency_key, req_hash)
        if replayed:
            return False, replayed
    packet_id = uuid.uuid4()
    received_at = ctx.clock()
    keys = await _store_documents(ctx, packet_id, docs)
    # T1 is decided here and written in the same transaction as the packet: one transaction, no
    # re-read of the row just inserted. A packet is new, so it is `received` at version 1 with no run;
    # the state machine still decides (should it ever refuse T1, the packet stays `received` and
    # housekeeping tries T1 again, as it does for packets committed before this was one transaction).
    t1 = sm.Trigger(sm.RECEIVED, SYSTEM, ctx.clock())
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
    due = clock.due_at(received_at, packet.review_type)
    try:
        async with ctx.uow() as uow:
            tracking = await uow.packets.add(
                packet_id,
                packet,
                {
                    "partner_client_id": client_id,
                    "channel": channel,
                    "received_at": received_at,
                    "due_at": due,
                    "payload_hash": req_hash or request_hash(packet.model_dump(mode="json"), docs),
                    **state_values,
                },
            )
            await uow.documents.add(
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
                ]
            )
            if idempotency_key and client_id:
                if not await uow.idempotency.add(client_id, idempotency_key, req_hash, packet_id):
                    raise _KeyTaken()
            await uow.emit(
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
                    submission_type=packet.submission_type,
                    practitioner_npi=packet.practitioner.npi,
                    partner_client_id=client_id,
                ),
            )
            if moved is not None:  # after PacketReceived, as when T1 was its own transaction
                await record_move(uow, packet_id, t1, moved, state_values, determination=None, utn=None)
            await uow.commit()
    except _KeyTaken:
        await ctx.store.delete(keys)
        # A concurrent request with the same key won the race: answer as it did.
        assert idempotency_key and client_id
        replayed = await _replay(ctx, client_id, idempotency_key, req_hash)
        if replayed is None:
            raise Invalid(
                "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was used with a different request body.",
                title="Idempotency key reused",
            ) from None
        return False, replayed
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


async def start_validation(ctx: Intake, packet_id: uuid.UUID) -> Result:
    """T1 for a packet left in `received` (housekeeping); a new packet gets T1 in its submit transaction."""
    return await apply_and_commit(ctx.uow, packet_id, sm.Trigger(sm.RECEIVED, SYSTEM, ctx.clock()))


async def add_document(ctx: Intake, client_id: str, packet_id: uuid.UUID, doc: IncomingDocument) -> dict[str, Any]:
    """Attach one more document to a partner's packet that is not yet determined.

    The bytes go to S3 with no unit of work open (no row lock, no pooled connection held through the transfer);
    then a short one locks the packet, checks again and records the row. Should that refuse (or the process die
    first), the object is deleted here, or swept later (`housekeeping.sweep_orphans`)."""
    key = f"packets/{packet_id}/{doc.document_id}"

    async def admissible(uow: Any, lock: bool) -> None:
        if lock:
            row = await uow.packets.lock(packet_id, owner=client_id)
        else:
            row = await uow.packets.get(packet_id)
            row = row if row is not None and row.partner_client_id == client_id else None
        if row is None:
            raise not_found()
        if row.state not in OPEN_STATES:
            raise NotAllowed(
                "ILLEGAL_TRANSITION", "Documents can be added only before a determination.", title="Packet is decided"
            )
        if await uow.documents.count(packet_id) >= MAX_DOCUMENTS:
            raise TooMany(
                "TOO_MANY_DOCUMENTS", f"A packet holds at most {MAX_DOCUMENTS} documents.", title="Too many documents"
            )

    async with ctx.uow() as uow:
        await admissible(uow, lock=False)  # refuse early, before any bytes move
    doc.fileobj.seek(0)
    await ctx.store.put(key, doc.fileobj, doc.content_type, doc.sha256)
    try:
        async with ctx.uow() as uow:
            await admissible(uow, lock=True)
            await uow.documents.add(
                [
                    {
                        "id": doc.document_id,
                        "packet_id": packet_id,
                        "filename": doc.filename,
                        "content_type": doc.content_type,
                        "size": doc.size,
                        "sha256": doc.sha256,
                        "category": doc.category,
                        "s3_key": key,
                        "uploaded_at": ctx.clock(),
                    }
                ]
            )
            await uow.commit()
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
