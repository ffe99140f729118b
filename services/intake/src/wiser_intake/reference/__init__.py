"""Reference data intake needs, as versioned files with effective dates."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent


@cache
def _versions(name: str) -> list[dict]:
    data = json.loads((_HERE / f"{name}.json").read_text())
    return sorted(data["versions"], key=lambda v: v["effective"])


def in_force(name: str, on: date) -> dict:
    """The version of reference list `name` in force on `on`."""
    chosen = None
    for version in _versions(name):
        if date.fromisoformat(version["effective"]) <= on:
            chosen = version
    if chosen is None:
        raise LookupError(f"no {name} in force on {on}")
    return chosen


def dismissal_reasons(on: date) -> dict[str, dict]:
    return {r["code"]: r for r in in_force("dismissal_reasons", on)["items"]}
