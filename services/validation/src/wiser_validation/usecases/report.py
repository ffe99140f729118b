"""The findings report (the read side): every run of a packet with every check's result, read straight from
validation's tables."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..adapters.tables import findings, runs
from ..domain.checks import CHECK_CODES


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
