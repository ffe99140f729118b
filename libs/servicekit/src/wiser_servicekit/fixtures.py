"""Where the synthetic fixtures are (beneficiaries, practitioners, facilities): one setting, `WISER_FIXTURES_DIR`.

Unset, it is the `shared/fixtures` folder beside the repository (how the workspace is laid out in development
and CI). Services (the demo seed), tests and benches all ask here; the sandbox peers, which depend on no
service code, read the same variable.
"""

from __future__ import annotations

import os
from pathlib import Path

# src/wiser_servicekit/fixtures.py -> parents: wiser_servicekit, src, servicekit, libs, <repo root>
BESIDE_THE_REPOSITORY = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures"


def fixtures_dir() -> Path:
    configured = os.environ.get("WISER_FIXTURES_DIR")
    return Path(configured) if configured else BESIDE_THE_REPOSITORY
