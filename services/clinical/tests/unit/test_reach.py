"""Which waiting cases assignment needs to read: only those someone with room could take."""

from __future__ import annotations

from datetime import date

from wiser_clinical.domain.assignment import Reach, reach
from wiser_clinical.domain.model import MD, NURSE, Licence, Reviewer, Stage

DAY = date(2026, 11, 23)
LATER = date(2030, 1, 1)


def reviewer(
    uid: str, capacity: int, states: dict[str, date], services: set[str], role: str = NURSE, **kw: bool
) -> Reviewer:
    licences = tuple(Licence(s, exp) for s, exp in states.items())
    return Reviewer(uid, role, capacity, licences, frozenset(services), **kw)


def test_nobody_with_room_means_nothing_to_read() -> None:
    assert reach([reviewer("n1", 2, {"NJ": LATER}, {"esi"})], DAY, {"n1": 2}) == []


def test_room_is_where_the_reviewer_is_licensed_today_for_what_they_review() -> None:
    n1 = reviewer("n1", 2, {"NJ": LATER, "OH": date(2026, 11, 22)}, {"esi"})
    n2 = reviewer("n2", 1, {"TX": LATER}, {"knee"})
    assert reach([n1, n2], DAY, {"n1": 1, "n2": 1}) == [Reach(Stage.NURSE, frozenset({"NJ"}), frozenset({"esi"}))]
    assert reach([n1, n2], DAY, {}) == [Reach(Stage.NURSE, frozenset({"NJ", "TX"}), frozenset({"esi", "knee"}))]


def test_a_medical_director_with_room_reaches_only_escalated_cases() -> None:
    md = reviewer("md1", 5, {"NJ": LATER}, {"esi"}, role=MD)
    nurse = reviewer("n1", 1, {"OH": LATER}, {"knee"})
    assert reach([md, nurse], DAY, {"n1": 1}) == [Reach(Stage.MD, frozenset({"NJ"}), frozenset({"esi"}))]


def test_inactive_and_manual_only_reviewers_do_not_count() -> None:
    away = reviewer("n1", 5, {"NJ": LATER}, {"esi"}, active=False)
    picks = reviewer("n2", 5, {"OH": LATER}, {"esi"}, auto_assign=False)
    assert reach([away, picks], DAY, {}) == []
