"""The packaged letter templates: one JSON file per template version (loaded into the templates table)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def packaged() -> list[dict[str, Any]]:
    """Every packaged template version, oldest first: {"version", "texts"}."""
    out = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            out.append(json.loads(entry.read_text(encoding="utf-8")))
    return out


def latest() -> dict[str, Any]:
    return packaged()[-1]
