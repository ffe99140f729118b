"""The partner's-eye conformance check, and no PHI in any log line of the running system."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from .conftest import FIXTURES, ROOT

CONFORMANCE = ROOT.parent / "shared" / "conformance" / "partner_api_check.py"


def test_the_shared_partner_conformance_check_passes(system) -> None:
    result = subprocess.run(
        [sys.executable, str(CONFORMANCE)],
        env={**system.env, "WISER_INTAKE_URL": system.url},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=CONFORMANCE.parent,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " 0 failed" in result.stdout


async def test_no_phi_reaches_the_logs(system, api, partner_headers) -> None:
    from .test_lifecycle import _packet

    beneficiaries = json.loads((FIXTURES / "beneficiaries.json").read_text())["beneficiaries"]
    staff = system.staff("ops_tier1")
    for ben in beneficiaries:
        p = _packet()
        p["beneficiary"].update({k: ben[k] for k in ("mbi", "first_name", "last_name", "date_of_birth")})
        r = await api.post("/api/v1/packets", json=p, headers=partner_headers)
        assert r.status_code == 201
        await api.get(system.ops_url + "/api/v1/ops/packets", params={"q": ben["last_name"]}, headers=staff)
        await api.get(system.ops_url + "/api/v1/ops/packets", params={"q": ben["mbi"]}, headers=staff)
        bad = dict(p, beneficiary={**p["beneficiary"], "date_of_birth": ben["first_name"]})
        assert (await api.post("/api/v1/packets", json=bad, headers=partner_headers)).status_code == 422
    await api.get(system.ops_url + "/api/v1/ops/packets/" + str(uuid.uuid4()), headers=staff)
    logs = system.logs()
    assert "intake" in logs and len(logs) > 1000
    leaks = []
    for ben in beneficiaries:
        for key in ("mbi", "first_name", "last_name", "date_of_birth"):
            if ben[key] and ben[key] in logs:
                leaks.append(f"{key} of a fixture beneficiary")
    assert leaks == []
