"""The Parked messages page shows, per service and queue, why each message was parked (the error type and
text the consumer recorded) and when; a message without a record shows the broker's reason."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from wiser_gateway.entrypoints.web.common import TEMPLATES


def page(roles: set[str], **ctx: Any) -> str:
    request = SimpleNamespace(query_params={}, url=SimpleNamespace(path="/parked"))
    user = SimpleNamespace(display_name="Sam", roles=roles)
    return TEMPLATES.env.get_template("parked.html").render(
        request=request, user=user, roles=roles, csrf="t", session=None, now=datetime.now(UTC), **ctx
    )


def test_each_parked_message_shows_its_error_and_when_it_was_parked() -> None:
    recorded = {
        "message_id": "m-1",
        "type": "intake.packet.transitioned",
        "packet_id": "0c5e2a4e-0000-4000-8000-000000000001",
        "user_id": "wiser-intake",
        "from_queue": "outbound.p03",
        "reason": "rejected",
        "count": 1,
        "at": "2026-11-23T10:00:00+00:00",
        "error_type": "ValueError",
        "error": "ValueError in on_transitioned after 5 attempts",
        "parked_at": "2026-11-23T10:00:01+00:00",
    }
    unrecorded = {**recorded, "message_id": "m-2", "error_type": None, "error": None, "parked_at": None}
    queues = [{"queue": "outbound.dlq", "count": 2, "messages": [recorded, unrecorded]}]
    html = page({"supervisor"}, services=[{"service": "outbound", "ok": True, "queues": queues}], can_replay=True)
    assert "<strong>ValueError</strong>: ValueError in on_transitioned after 5 attempts" in html
    assert "2026-11-23T10:00:01+00:00" in html  # when it was parked, from the record
    assert "<td>rejected</td><td>2026-11-23T10:00:00+00:00</td>" in html  # no record: the broker's reason and time
    assert "Replay 2 from outbound.dlq (outbound)" in html
