"""Criteria checklists per Appendix A service, as versioned JSON (`criteria.json`): the version in force on a
day is the latest whose effective date is on or before it, so a new NCD/LCD reading is a new version in a
file, never a code change. Extra files (same shape) may be added from a folder (Settings.reference_dir)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from ..domain.checklist import Checklists, build_checklists

DEFAULT_DIRECTORY = Path(__file__).parent


def read_documents(extra: Path | None = None) -> list[dict[str, Any]]:
    files = [DEFAULT_DIRECTORY / "criteria.json"]
    if extra is not None:
        files += sorted(extra.glob("criteria*.json"))
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def load_checklists(on: date, extra: Path | None = None) -> Checklists:
    versions = [v for doc in read_documents(extra) for v in doc["versions"]]
    return build_checklists(versions, on)
