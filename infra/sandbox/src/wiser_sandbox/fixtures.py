"""The synthetic people the sandbox knows: shared/fixtures/beneficiaries.json and providers.json, nothing else."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# src/wiser_sandbox/fixtures.py -> parents: wiser_sandbox, src, sandbox, infra, <repo root>, <beside the repo>
DEFAULT_FIXTURES_DIR = Path(__file__).resolve().parents[5] / "shared" / "fixtures"

Record = dict[str, Any]


@dataclass(frozen=True)
class Fixtures:
    beneficiaries: dict[str, Record]  # by MBI
    practitioners: dict[str, Record]  # by NPI
    facilities: dict[str, Record]  # by NPI


def fixtures_dir() -> Path:
    """``WISER_FIXTURES_DIR`` when set, else the ``shared/fixtures`` folder beside the repository root."""
    configured = os.environ.get("WISER_FIXTURES_DIR")
    return Path(configured) if configured else DEFAULT_FIXTURES_DIR


def load(directory: Path) -> Fixtures:
    beneficiaries = json.loads((directory / "beneficiaries.json").read_text(encoding="utf-8"))["beneficiaries"]
    providers = json.loads((directory / "providers.json").read_text(encoding="utf-8"))
    return Fixtures(
        beneficiaries={b["mbi"]: b for b in beneficiaries},
        practitioners={p["npi"]: p for p in providers.get("practitioners", [])},
        facilities={f["npi"]: f for f in providers.get("facilities", [])},
    )
