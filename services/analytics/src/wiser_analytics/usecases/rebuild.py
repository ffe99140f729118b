"""Rebuild the read models from intake's history export into fresh tables.

In one transaction that first locks the record log (live projection waits, its messages stay queued): read
every page of the export, replace intake's received/transition records with the ones made from it (the
other records — SLA breaches, reclassifications, reassignments, UTNs, clinical's review events — are
analytics' own copies and are kept), and refold every packet's fact row, its lines and the daily table.
A message consumed before the lock is already in intake's history (intake publishes after it commits)."""

from __future__ import annotations

import uuid
from typing import Any

from ..domain.facts import fold
from ..domain.history import records_from_history
from .ports import History, ReadModel

FOLD_BATCH = 2000  # packets folded and written at a time


async def rebuild(model: ReadModel, history: History, page_size: int, requested_by: str) -> dict[str, Any]:
    """Page by page, in bounded memory: the export's pages into the record log, then the facts folded a
    batch of packets at a time."""
    async with model.unit() as u:
        await u.lock_all()
        await u.clear_history_records()
        seen: set[uuid.UUID] = set()
        rows = 0
        async for page in history.pages(page_size):
            rows += len(page)
            await u.add_records(records_from_history(page, seen))
        await u.clear_facts()
        packets = 0
        async for batch in u.records_by_packet(FOLD_BATCH):
            facts = [fold(packet_id, recs) for packet_id, recs in batch.items()]
            await u.add_facts(facts)
            packets += len(facts)
        await u.note_rebuild(requested_by, rows, packets)
    return {"history_rows": rows, "packets": packets}
