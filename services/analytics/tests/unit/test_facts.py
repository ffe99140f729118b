"""The fact row: folded from a packet's records, whatever order they come in; the daily table's deltas."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from analytics_builders import T0, journey, move, received

from wiser_analytics.domain.facts import Record, daily_delta, fold
from wiser_analytics.domain.zones import local_day


def test_a_journey_gives_every_state_time_the_outcome_the_reviewer_and_met() -> None:
    pid = uuid.uuid4()
    fact = fold(pid, journey(pid, hours=30))
    assert fact.state == "closed" and fact.version == 6 and fact.closure_reason == "delivered"
    assert fact.outcome == "affirmed" and fact.lines == [{"code": "64581", "outcome": "affirmed"}]
    assert fact.reviewer == "nurse-1" and fact.reviewer_role == "clinical_reviewer"
    assert fact.turnaround_seconds == 30 * 3600 and fact.met is True
    assert fact.state_seconds["clinical_review"] == 28 * 3600
    assert fact.state_seconds["received"] == 0 and fact.state_seconds["determined"] == 5 * 3600
    assert set(fact.state_first_at) == {
        "received",
        "validating",
        "clinical_queue",
        "clinical_review",
        "determined",
        "closed",
    }
    assert fact.line_rows()[0]["outcome"] == "affirmed"


def test_any_arrival_order_gives_the_same_row() -> None:
    pid = uuid.uuid4()
    records = journey(pid, outcome="non_affirmed", hours=80)
    expected = fold(pid, records)
    for seed in range(20):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert fold(pid, shuffled) == expected
    assert expected.met is False  # 80 h > 3 days


def test_a_decision_late_in_the_evening_belongs_to_the_local_day() -> None:
    pid = uuid.uuid4()
    late = T0.replace(hour=3, minute=30) + timedelta(days=1)  # 03:30 UTC = 22:30 the day before in New Jersey
    records = [
        received(pid),
        move(pid, 2, "received", "determined", late, "T4", outcome="dismissed", dismissal_codes=["NON_WISER_SERVICE"]),
    ]
    fact = fold(pid, records)
    assert fact.decided_day == date(2026, 3, 2) == local_day(late, "NJ")
    assert fact.dismissal_codes == ["NON_WISER_SERVICE"] and fact.reviewer is None
    assert fact.line_rows() == [
        {
            "packet_id": pid,
            "line_no": 0,
            "code": "64581",
            "outcome": "dismissed",
            "state_of_service": "NJ",
            "review_type": "standard",
            "decided_day": date(2026, 3, 2),
        }
    ]


def test_reclassification_makes_the_request_standard_with_its_new_due_at() -> None:
    pid = uuid.uuid4()
    new_due = T0 + timedelta(days=3)
    records = [
        received(pid, review_type="expedited", due_at=(T0 + timedelta(days=2)).isoformat()),
        Record(
            uuid.uuid4(),
            pid,
            "reclassified",
            5,
            T0 + timedelta(hours=3),
            {"review_type": "standard", "due_at": new_due.isoformat()},
        ),
    ]
    fact = fold(pid, records)
    assert fact.review_type == "standard" and fact.due_at == new_due
    assert fact.expedited_requested and fact.reclassified


def test_the_clinicians_events_name_the_reviewer_until_intake_records_the_decision() -> None:
    pid = uuid.uuid4()
    assigned = Record(uuid.uuid4(), pid, "review_assigned", 3, T0, {"reviewer_id": "nurse-2"})
    reassigned = Record(uuid.uuid4(), pid, "reassigned", 5, T0, {"reviewer_id": "nurse-3"})
    assert fold(pid, [received(pid), assigned]).assigned_reviewer == "nurse-2"
    assert fold(pid, [reassigned, received(pid), assigned]).assigned_reviewer == "nurse-3"


def test_the_daily_delta_moves_a_packet_between_buckets_and_cancels_out() -> None:
    pid = uuid.uuid4()
    records = journey(pid)
    before = fold(pid, records[:3])
    after = fold(pid, records)
    delta = daily_delta(before, after)
    assert all(k[1] != "received" for k in delta)  # it was received on the same day either way
    kinds = sorted(k[1] for k in delta)
    assert kinds == ["closed", "determined"]
    assert daily_delta(after, after) == {}
