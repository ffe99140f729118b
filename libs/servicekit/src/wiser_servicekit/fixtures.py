"""The synthetic fixtures (beneficiaries, practitioners, facilities): where they are, one setting
(`WISER_FIXTURES_DIR`), and the one builder of packets from them that the demo seed, tests and benches use.

Unset, it is the `shared/fixtures` folder beside the repository (how the workspace is laid out in development
and CI). Services (the demo seed), tests and benches all ask here; the sandbox peers, which depend on no
service code, read the same variable.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

# src/wiser_servicekit/fixtures.py -> parents: wiser_servicekit, src, servicekit, libs, <repo root>
BESIDE_THE_REPOSITORY = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures"


def fixtures_dir() -> Path:
    configured = os.environ.get("WISER_FIXTURES_DIR")
    return Path(configured) if configured else BESIDE_THE_REPOSITORY


@dataclass(frozen=True)
class Fixtures:
    """The synthetic people, by the names tests and demos call them."""

    beneficiaries: dict[str, dict[str, Any]]  # by last name
    practitioners: dict[str, dict[str, Any]]  # by last name
    facilities: dict[str, dict[str, Any]]  # by state


@lru_cache(maxsize=4)
def load_fixtures(directory: Path | None = None) -> Fixtures:
    folder = directory or fixtures_dir()
    bens = json.loads((folder / "beneficiaries.json").read_text(encoding="utf-8"))["beneficiaries"]
    provs = json.loads((folder / "providers.json").read_text(encoding="utf-8"))
    return Fixtures(
        {b["last_name"]: b for b in bens},
        {p["last_name"]: p for p in provs["practitioners"]},
        {f["state"]: f for f in provs["facilities"]},
    )


def packet_body(
    beneficiary: str = "Quillon",
    practitioner: str = "Brightwater",
    *,
    code: str = "64581",
    dx: str = "N39.41",
    state: str | None = None,
    facility_state: str | None = None,
    dos_days: int = 30,
    fixtures: Fixtures | None = None,
    **over: Any,
) -> dict[str, Any]:
    """A partner API packet (PARTNER_API.md) for fixture people, one service line.

    `state` is the state of service (default: the facility's); the facility is the one in
    `facility_state` (default: the practitioner's state, else NJ). Keyword overrides replace top-level
    fields; a dotted key (`"practitioner.ptan"`) replaces one inside, and None there removes it.
    """
    fx = fixtures or load_fixtures()
    b, p = fx.beneficiaries[beneficiary], fx.practitioners[practitioner]
    f = fx.facilities.get(facility_state or p["state"]) or fx.facilities["NJ"]
    body: dict[str, Any] = {
        "external_ref": "REF-" + uuid.uuid4().hex[:10],
        "submission_type": "initial",
        "previous_utn": None,
        "review_type": "standard",
        "expedited_reason": None,
        "state": state or f["state"],
        "place_of_service": f["place_of_service"],
        "type_of_bill": "131",
        "beneficiary": {
            "mbi": b["mbi"],
            "first_name": b["first_name"],
            "last_name": b["last_name"],
            "date_of_birth": b["date_of_birth"],
            "gender": b["gender"],
            "address": {"line1": "1 Main St", "city": "Newark", "state": b["state"], "zip": "07102"},
        },
        "practitioner": {
            "npi": p["npi"],
            "ptan": p["ptan"],
            "first_name": p["first_name"],
            "last_name": p["last_name"],
            "fax": "+12015550100",
            "email": "office@example.org",
            "address": {"line1": "2 Elm St", "city": "Newark", "state": p["state"], "zip": "07102"},
        },
        "facility": {"name": f["name"], "npi": f["npi"], "ccn": f["ccn"]},
        "requester": {"name": "Front Desk", "phone": "+12015550101", "fax": "+12015550100", "email": "pa@example.org"},
        "services": [
            {
                "code": code,
                "units": 1,
                "modifiers": [],
                "date_of_service": (date.today() + timedelta(days=dos_days)).isoformat(),
            }
        ],
        "diagnosis_codes": [dx],
    }
    for key, value in over.items():
        outer, _, inner = key.partition(".")
        if not inner:
            body[key] = value
        elif value is None:
            body[outer].pop(inner, None)
        else:
            body[outer][inner] = value
    return body
