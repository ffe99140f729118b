"""Wait for a quiet machine between benches: `python infra/bench/quiet.py [limit-seconds]`.

Every bench's packets keep the pipeline busy after the bench ends (letters, deliveries, analytics), so each
bench in `make bench` starts once the machine's busy CPU share has stayed under 15 % for three seconds in a
row, or after the limit (180 s), saying so: the figures that follow then include that load.
"""

from __future__ import annotations

import asyncio
import sys
import time


def busy_share(interval: float = 1.0) -> float:
    """The machine's busy CPU share over `interval` seconds (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(interval)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


async def settle(limit: float = 180.0, below: float = 0.15) -> tuple[bool, float, float]:
    """Wait until the machine is quiet for three seconds in a row: (quiet, seconds waited, last busy share)."""
    quiet, t0, share = 0, time.perf_counter(), 0.0
    while quiet < 3 and time.perf_counter() - t0 < limit:
        share = await asyncio.to_thread(busy_share)
        quiet = quiet + 1 if share < below else 0
    return quiet >= 3, time.perf_counter() - t0, share


def main() -> int:
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 180.0
    quiet, waited, share = asyncio.run(settle(limit))
    if quiet:
        print(f"(machine quiet after {waited:.0f} s)", flush=True)
    else:
        print(
            f"(machine still {share * 100:.0f} % busy after {waited:.0f} s: the next figures include that load)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
