"""Analytics' tests share builders (tests/unit/analytics_builders.py): make them importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "unit"))
