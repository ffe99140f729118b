"""Project one message into the read model: record it, refold the packet's fact row, adjust the daily table.

Idempotent: the inbox (and the record's id) make a second delivery a no-op; the fold sorts by packet
version, so out-of-order arrivals give the same row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from ..domain.facts import Record, fold
from .ports import ReadModel


async def project(model: ReadModel, handler: str, message_id: uuid.UUID, records: Sequence[Record]) -> bool:
    """Apply `records` (what one message said); False when this message was already projected."""
    async with model.unit() as u:
        if not await u.record_inbox(message_id, handler):
            return False
        for packet_id in sorted({r.packet_id for r in records}):
            await u.lock_packet(packet_id)
            added = [await u.add_record(r) for r in records if r.packet_id == packet_id]
            if not any(added):
                continue
            old = await u.fact_of(packet_id)
            await u.save_fact(old, fold(packet_id, await u.records_of(packet_id)))
    return True
