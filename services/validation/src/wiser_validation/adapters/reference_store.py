"""Reference data as rows: the versioned files are loaded into a table; the service reads what is in force."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..reference import FILES, ReferenceSet, build_reference, read_documents
from .tables import reference_versions


def file_documents(extra_dir: Path | None = None) -> list[dict[str, dict[str, Any]]]:
    """The packaged reference files, plus a deployment's own folder of versions (read at start-up)."""
    documents = [read_documents()]
    if extra_dir is not None:
        documents.append({p.stem: json.loads(p.read_text()) for p in sorted(extra_dir.glob("*.json"))})
    return documents


async def load_files(session: AsyncSession, documents: list[dict[str, dict[str, Any]]]) -> int:
    """Insert every version not yet in the table (a version, once loaded, is never rewritten)."""
    added = 0
    for docs in documents:
        for name, doc in docs.items():
            for version in doc["versions"]:
                result = await session.execute(
                    insert(reference_versions)
                    .values(
                        name=name,
                        effective=date.fromisoformat(version["effective"]),
                        source=doc.get("source", ""),
                        payload=version,
                    )
                    .on_conflict_do_nothing()
                )
                added += result.rowcount or 0  # type: ignore[attr-defined]
    return added


async def documents_from_table(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = (await session.execute(select(reference_versions).order_by(reference_versions.c.effective))).all()
    docs: dict[str, dict[str, Any]] = {name: {"source": "", "versions": []} for name in FILES}
    for row in rows:
        doc = docs.setdefault(row.name, {"source": "", "versions": []})
        doc["source"] = row.source
        doc["versions"].append(row.payload)
    return docs


class ReferenceStore:
    """The reference set in force on a day, read from the table and cached briefly."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 60.0) -> None:
        self.sessions, self.ttl = sessions, ttl
        self._docs: dict[str, dict[str, Any]] | None = None
        self._loaded = 0.0
        self._sets: dict[date, ReferenceSet] = {}

    async def documents(self) -> dict[str, dict[str, Any]]:
        if self._docs is None or time.monotonic() - self._loaded > self.ttl:
            async with self.sessions() as session:
                self._docs = await documents_from_table(session)
            self._loaded = time.monotonic()
            self._sets = {}
        return self._docs

    async def in_force(self, on: date) -> ReferenceSet:
        docs = await self.documents()
        if on not in self._sets:  # building a set expands every code range: once per day and reload
            self._sets[on] = build_reference(docs, on)
        return self._sets[on]

    def invalidate(self) -> None:
        self._docs = None
        self._sets = {}


class FileReferences:
    """The packaged reference files (and a deployment's folder) read directly, for `serve-reference`:
    the same documents the table is loaded from, without a database."""

    def __init__(self, extra_dir: Path | None = None) -> None:
        docs: dict[str, dict[str, Any]] = {}
        for found in file_documents(extra_dir):
            for name, doc in found.items():
                merged = docs.setdefault(name, {"source": doc.get("source", ""), "versions": []})
                known = {v["effective"] for v in merged["versions"]}
                merged["versions"].extend(v for v in doc["versions"] if v["effective"] not in known)
        self._docs = docs

    async def documents(self) -> dict[str, dict[str, Any]]:
        return self._docs
