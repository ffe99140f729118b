"""schemathesis against the running intake (partner and ops OpenAPI) and validation: a bounded number of generated
requests per route, valid and invalid, and not one 5xx. Plus the inputs that used to give 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .conftest import FullSystem

EXAMPLES = 10  # per route and generation mode: the whole run stays well under two minutes


def _token(system: FullSystem) -> str:
    r = httpx.post(
        f"{system.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _fuzz(schema_url: str, base_url: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_url(schema_url)
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=base_url, headers=headers, timeout=20)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid in this route (no parameters, no body)
            except Exception as e:  # a strategy schemathesis cannot build for this route: say which
                failures.append(f"{operation.label}: {type(e).__name__}: {str(e)[:200]}")
    return calls, failures


def test_no_route_of_intake_or_validation_answers_5xx_to_generated_requests(full_system: FullSystem) -> None:
    partner = {"Authorization": f"Bearer {_token(full_system)}"}
    staff = full_system.staff("supervisor")
    calls = 0
    failures: list[str] = []
    for schema_url, base, headers in (
        (f"{full_system.url}/openapi.json", full_system.url, partner),
        (f"{full_system.ops_url}/api/v1/ops/openapi.json", full_system.ops_url, staff),
        (f"{full_system.validation_url}/openapi.json", full_system.validation_url, staff),
    ):
        n, found = _fuzz(schema_url, base, headers)
        calls += n
        failures += found
    assert calls > 200
    assert failures == [], "\n".join(sorted(set(failures)))


async def test_what_used_to_give_500_is_a_4xx_now(full_system: FullSystem) -> None:
    partner = {"Authorization": f"Bearer {_token(full_system)}"}
    staff = full_system.staff("supervisor")
    async with httpx.AsyncClient(timeout=30) as c:
        for cursor in ("not-a-cursor!", "WyJ4IiwgInkiXQ", "W251bGwsIG51bGxd", "e30"):
            r = await c.get(f"{full_system.url}/api/v1/packets", params={"cursor": cursor}, headers=partner)
            assert r.status_code == 400 and r.json()["code"] == "BAD_CURSOR", r.text
            r = await c.get(f"{full_system.ops_url}/api/v1/ops/packets", params={"cursor": cursor}, headers=staff)
            assert r.status_code == 400, r.text
        nested = "[" * 100_000 + "]" * 100_000
        for body in (nested, '{"a":' * 50_000 + "1" + "}" * 50_000):
            r = await c.post(
                f"{full_system.url}/api/v1/packets",
                content=body,
                headers={**partner, "content-type": "application/json"},
            )
            assert r.status_code == 422, r.text
            r = await c.post(
                f"{full_system.url}/api/v1/packets",
                data={"packet": body},
                files=[("documents", ("n.pdf", b"%PDF-1.4\n", "application/pdf"))],
                headers=partner,
            )
            assert r.status_code == 422, r.text
        from .test_lifecycle import _packet

        r = await c.post(
            f"{full_system.url}/api/v1/packets",
            data={"packet": json.dumps(_packet())},
            files=[("documents", ("Überweisung 診療記録.pdf", b"%PDF-1.4\nnote", "application/pdf"))],
            headers=partner,
        )
        assert r.status_code == 201, r.text
        pid = r.json()["packet_id"]
        detail = (await c.get(f"{full_system.ops_url}/api/v1/ops/packets/{pid}", headers=staff)).json()
        doc = detail["documents"][0]
        assert doc["filename"] == "Überweisung 診療記録.pdf"
        got = await c.get(
            f"{full_system.ops_url}/api/v1/ops/packets/{pid}/documents/{doc['document_id']}", headers=staff
        )
        assert got.status_code == 200 and got.content == b"%PDF-1.4\nnote"
        disposition = got.headers["content-disposition"]
        assert "filename*=UTF-8''%C3%9Cberweisung%20%E8%A8%BA%E7%99%82%E8%A8%98%E9%8C%B2.pdf" in disposition
        assert disposition.encode("latin-1")  # the header itself stays Latin-1
        missing = await c.get(f"{full_system.url}/api/v1/packets/{uuid.uuid4()}", headers=partner)
        assert missing.status_code == 404
