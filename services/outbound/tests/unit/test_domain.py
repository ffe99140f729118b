"""Outbound's pure rules: signatures and event ids, the packet as it was, retry tiers and budgets, breakers,
where each copy goes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from wiser_outbound.domain import channels as ch
from wiser_outbound.domain import webhooks as wh
from wiser_outbound.domain.retry import Breaker, Schedule, parse_delays
from wiser_outbound.domain.view import view_as_of

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_the_signature_is_what_partner_api_md_says_and_verifies() -> None:
    import hashlib
    import hmac

    body = '{"event_id":"e"}'
    header = wh.signature("whsec_x", 1_700_000_000, body)
    expected = hmac.new(b"whsec_x", b"1700000000." + body.encode(), hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert wh.verify("whsec_x", header, body, now=1_700_000_010)
    assert not wh.verify("whsec_y", header, body, now=1_700_000_010)
    assert not wh.verify("whsec_x", header, body + " ", now=1_700_000_010)
    assert not wh.verify("whsec_x", header, body, now=1_700_001_000)  # too old: a replay


def test_one_message_makes_the_same_event_ids_every_time() -> None:
    mid = uuid.uuid4()
    first = wh.events_of_transition(mid, "determined", T0)
    again = wh.events_of_transition(mid, "determined", T0)
    assert [e.kind for e in first] == [wh.TRANSITIONED, wh.DETERMINED]
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == 2
    assert [e.kind for e in wh.events_of_transition(mid, "validating", T0)] == [wh.TRANSITIONED]
    body = json.loads(wh.body(first[0], {"packet_id": "p"}))
    assert body == {"event_id": str(first[0].event_id), "type": "packet.transitioned",
                    "occurred_at": T0.isoformat(), "packet": {"packet_id": "p"}}  # fmt: skip


DETAIL = {
    "packet_id": "p1",
    "tracking_number": "WSR-1",
    "external_ref": "EHR-1",
    "state": "closed",
    "review_type": "standard",
    "received_at": T0.isoformat(),
    "due_at": (T0 + timedelta(days=3)).isoformat(),
    "closure_reason": "delivered",
    "determination": {"outcome": "affirmed", "utn": "JLA26001234567", "lines": []},
    "dismissal": None,
    "letters": [{"letter_id": "l1", "kind": "affirmation"}],
    "history": [
        {"transition": "T1", "from": "received", "to": "validating", "version": 2, "at": "a"},
        {"transition": "T2", "from": "validating", "to": "clinical_queue", "version": 3, "at": "b"},
        {"transition": "T9", "from": "clinical_review", "to": "determined", "version": 5, "at": "c"},
        {"transition": "T16", "from": "delivering", "to": "closed", "version": 9, "at": "d"},
    ],
}


def test_the_view_is_the_packet_as_it_was_at_the_events_version() -> None:
    early = view_as_of(DETAIL, 2, "validating")
    assert early["state"] == "validating"
    assert [h["to"] for h in early["history"]] == ["validating"]
    assert early["determination"] is None and early["letters"] == [] and early["closure_reason"] is None
    determined = view_as_of(DETAIL, 5, "determined")
    assert determined["determination"]["outcome"] == "affirmed" and determined["letters"] == []
    closed = view_as_of(DETAIL, 9, "closed")
    assert closed["closure_reason"] == "delivered" and closed["letters"][0]["url"].endswith("/letters/l1")
    assert "beneficiary" not in closed and "mbi" not in json.dumps(closed)


def test_a_later_reclassification_leaves_the_earlier_view_expedited() -> None:
    reclassified = {"transition": "reclassified", "from": "clinical_queue", "to": "clinical_queue", "version": 4}
    detail = {**DETAIL, "history": [*DETAIL["history"][:2], {**reclassified, "at": "x"}]}
    before = view_as_of(detail, 3, "clinical_queue")
    assert before["review_type"] == "expedited"
    assert before["due_at"] == (T0 + timedelta(days=2)).isoformat()
    assert view_as_of(detail, 4, "clinical_queue")["review_type"] == "standard"


def test_tiers_repeat_the_last_delay_until_the_budget_is_spent() -> None:
    s = Schedule(parse_delays("10,60,300"), budget_seconds=3600)
    assert s.next_attempt(T0, 1, T0) == T0 + timedelta(seconds=10)
    assert s.next_attempt(T0, 2, T0) == T0 + timedelta(seconds=60)
    assert s.next_attempt(T0, 9, T0) == T0 + timedelta(seconds=300)
    assert s.next_attempt(T0, 9, T0 + timedelta(seconds=3400)) is None


def test_default_webhook_schedule_retries_for_more_than_24_hours() -> None:
    from wiser_outbound.config import Settings

    settings = Settings(env="test")
    s = Schedule(parse_delays(settings.webhook_delays), settings.webhook_budget_seconds)
    at, n = T0, 0
    while (nxt := s.next_attempt(T0, n + 1, at)) is not None:
        at, n = nxt, n + 1
    assert at - T0 >= timedelta(hours=24) and n > 10


def test_a_breaker_opens_after_the_threshold_and_lets_one_through_after_the_reset() -> None:
    b = Breaker(threshold=3, reset_seconds=30)
    for _ in range(3):
        assert b.allows(T0)
        b.failed(T0)
    assert not b.allows(T0 + timedelta(seconds=10))
    assert b.allows(T0 + timedelta(seconds=31))
    b.succeeded()
    assert b.state == "closed"


PACKET = {
    "packet_id": "p1",
    "channel": "fax",
    "external_ref": "ESMD-1",
    "partner_client_id": "demo-fax",
    "beneficiary": {"first_name": "Avery", "last_name": "Quillon",
                    "address": {"line1": "1 Main St", "city": "Newark", "state": "NJ", "zip": "07102"}},
    "practitioner": {"first_name": "U", "last_name": "B", "fax": "+12015550100",
                     "address": {"line1": "2 Elm St", "city": "Newark", "state": "NJ", "zip": "07102"}},
    "requester": {"fax": "+12015550111", "email": "pa@example.org"},
}  # fmt: skip
SET = {"letters": [{"letter_id": "r1", "recipient": "requester"}, {"letter_id": "b1", "recipient": "beneficiary"}]}


@pytest.mark.parametrize(
    ("channel", "how", "where"),
    [
        ("fax", "fax", {"fax": "+12015550111"}),
        ("mail", "mail", {"line1": "2 Elm St"}),
        ("portal", "email", {"email": "pa@example.org"}),
        ("esmd", "esmd", {"esmd_transaction": "ESMD-1"}),
        ("api", "webhook", {"client_id": "demo-fax"}),
    ],
)
def test_the_requester_copy_goes_on_the_packets_channel_and_the_beneficiarys_by_mail(channel, how, where) -> None:
    copies = ch.copies_for({**PACKET, "channel": channel}, SET)
    requester, beneficiary = copies
    assert requester.channel == how and where.items() <= requester.destination.items()
    assert beneficiary.channel == "mail" and beneficiary.destination["name"] == "Avery Quillon"


def test_no_fax_number_is_said_plainly_and_a_correction_replaces_it() -> None:
    with pytest.raises(ch.NoDestination):
        ch.destination("fax", "requester", {**PACKET, "requester": {}, "practitioner": {}})
    assert ch.correct({"fax": "+12015550199"}, "fax", "+12015550123", None) == {"fax": "+12015550123"}
    fixed = ch.correct({"line1": "x", "zip": "1"}, "mail", None, {"line1": "3 Oak St", "zip": "07103"})
    assert fixed["line1"] == "3 Oak St" and fixed["zip"] == "07103"
