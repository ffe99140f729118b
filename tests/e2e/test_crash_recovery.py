"""SIGKILL of intake after commit and before publish loses nothing: after restart each event is published once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx

from wiser_servicekit.testing import BusProbe

from .conftest import ROOT, System, system_env


async def test_a_killed_intake_publishes_its_committed_events_exactly_once_after_restart(system, tmp_path) -> None:
    own = System(system.infra.derive("crash"), tmp_path, {})
    own.env = system_env(own.infra)
    subprocess.run(
        [sys.executable, "-m", "wiser_intake", "migrate"], cwd=ROOT, env=own.env, check=True, capture_output=True
    )
    subprocess.run(
        [sys.executable, "-m", "wiser_intake", "seed-demo"], cwd=ROOT, env=own.env, check=True, capture_output=True
    )
    async with BusProbe(own.infra.amqp_url, ("intake.#",)) as probe:
        await asyncio.sleep(2)  # the seed's own events drain first (its process has no relay either)
        first, url = own.start_intake("before-crash", WISER_INTAKE_OUTBOX_RELAY_ENABLED="false")
        async with httpx.AsyncClient(base_url=url) as c:
            token = (
                await c.post(
                    "/oauth/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": "demo-partner",
                        "client_secret": "demo-secret",
                    },
                )
            ).json()["access_token"]
            from .test_lifecycle import _packet

            r = await c.post("/api/v1/packets", json=_packet(), headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 201, r.text
            pid = r.json()["packet_id"]
        await asyncio.sleep(1.5)
        assert probe.of_type("intake.packet.received", pid) == []  # committed, not yet published
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        second, url = own.start_intake("after-restart")
        try:
            await probe.wait_for("intake.packet.received", pid)
            await probe.wait_for("intake.packet.transitioned", pid)
            await asyncio.sleep(3)  # several relay passes: nothing may be published twice
            assert len(probe.of_type("intake.packet.received", pid)) == 1
            transitioned = probe.of_type("intake.packet.transitioned", pid)
            assert [t["transition"] for t in transitioned] == ["T1"]
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(15)
