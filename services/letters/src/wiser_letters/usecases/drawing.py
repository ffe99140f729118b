"""Drawing letters: compose a letter model, check it, render it if it passed; the version record it makes."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from ..domain import letter_set as ls
from ..domain.checks import CheckResult, check_letter, failures
from ..domain.compose import compose
from ..domain.document import Document
from ..domain.model import (
    LetterModel,
    model_to_json,
)
from .context import Letters
from .ports import (
    LetterVersionRecord,
)


@dataclass
class Drawn:
    """One letter of a version, composed, checked and (if it passed) rendered."""

    model: LetterModel
    document: Document
    checks: list[CheckResult]
    pdf: bytes | None = None
    pages: int | None = None
    sha256: str | None = None


async def draw(ctx: Letters, model: LetterModel, texts: dict[str, str], letter_id: uuid.UUID, version: int) -> Drawn:
    """Compose and check one letter; render and store it only if every check passed."""
    doc = compose(model, texts)
    results = check_letter(model, doc)
    drawn = Drawn(model, doc, results)
    if not failures(results):
        pdf = ctx.render(doc)
        drawn.pdf, drawn.pages, drawn.sha256 = pdf, page_count(pdf), hashlib.sha256(pdf).hexdigest()
        await ctx.store.put(ls.object_key(letter_id, version), pdf, drawn.sha256)
    return drawn


def page_count(pdf: bytes) -> int:
    """Pages of a PDF we rendered (its page tree's /Count)."""
    counts = [int(x) for x in re.findall(rb"/Count (\d+)", pdf)]
    return max(counts) if counts else 0


def letter_version(letter_id: uuid.UUID, recipient: str, version: int, d: Drawn, at: datetime) -> LetterVersionRecord:
    return LetterVersionRecord(
        letter_id=letter_id,
        recipient=recipient,
        version=version,
        passed=not failures(d.checks),
        model=model_to_json(d.model),
        checks=[r.as_dict() for r in d.checks],
        created_at=at,
        object_key=ls.object_key(letter_id, version) if d.pdf is not None else None,
        sha256=d.sha256,
        size=len(d.pdf) if d.pdf is not None else None,
        pages=d.pages,
    )


def blocked_reason(drawn: dict[str, Drawn]) -> str:
    return "; ".join(f"{who}: {r.detail}" for who, d in drawn.items() for r in failures(d.checks))
