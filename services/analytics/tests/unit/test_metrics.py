"""The metrics' arithmetic: medians, aging buckets, clocks, percentages, gold-card rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from analytics_builders import journey

from wiser_analytics.domain import metrics as dm
from wiser_analytics.domain.facts import fold


def test_the_median_of_an_even_count_is_the_mean_of_the_two_middle_values() -> None:
    assert dm.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert dm.median([5.0, 1.0, 3.0]) == 3.0
    assert dm.median([]) is None


def test_aging_buckets_have_closed_lower_bounds() -> None:
    d = timedelta(days=1)
    assert [dm.aging_bucket(x) for x in (d - timedelta(seconds=1), d, 2 * d, 3 * d, 10 * d)] == [
        "lt_1d",
        "d1_2",
        "d2_3",
        "gt_3d",
        "gt_3d",
    ]


def test_clock_status_only_before_a_determination() -> None:
    now = datetime(2026, 3, 5, tzinfo=UTC)
    window = timedelta(hours=24)
    assert dm.clock_status("clinical_review", now - timedelta(minutes=1), now, window) == "breached"
    assert dm.clock_status("clinical_review", now + timedelta(hours=5), now, window) == "at_risk"
    assert dm.clock_status("clinical_review", now + timedelta(hours=30), now, window) is None
    assert dm.clock_status("determined", now - timedelta(days=3), now, window) is None


def test_percentages_and_gold_card_rule() -> None:
    assert dm.percent(1, 3) == 33.33 and dm.percent(0, 0) is None
    assert dm.is_gold_card_candidate(10, 10, 10, 10, 90.0)
    assert not dm.is_gold_card_candidate(9, 9, 9, 10, 90.0)  # too few requests
    assert not dm.is_gold_card_candidate(10, 9, 10, 10, 90.0)  # 90 % is not above 90 %


def test_cms_metrics_on_a_handful_of_packets() -> None:
    facts = []
    for outcome, hours in (("affirmed", 10), ("affirmed", 20), ("non_affirmed", 40), ("partially_affirmed", 90)):
        pid = uuid.uuid4()
        facts.append(fold(pid, journey(pid, outcome, hours)))
    day = facts[0].decided_day
    assert day is not None
    cms = dm.cms_metrics(facts, day - timedelta(days=5), day + timedelta(days=5))
    assert cms["determinations"] == 4 and cms["merits_decisions"] == 4
    assert cms["percent_of_all"]["affirmed"] == 50.0 and cms["percent_of_all"]["dismissed"] == 0.0
    assert cms["time_to_decision"]["standard"] == {"decided": 4, "average_hours": 40.0, "median_hours": 30.0}
    assert cms["time_to_decision"]["expedited"]["median_hours"] is None
    sla = {r["review_type"]: r for r in dm.sla_compliance(facts, date(2026, 1, 1), date(2026, 12, 31))}
    assert sla["standard"]["met"] == 3 and sla["standard"]["missed"] == 1 and sla["all"]["percent_met"] == 75.0
