"""Decisions per service line (DOMAIN.md "Decisions"): a nurse affirms when every required criterion is met, or
escalates; only a medical director non-affirms or partially affirms, with a specific reason for every unmet
criterion. The outcome of the packet follows from its lines."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from wiser_contracts.messages import Outcome

from .checklist import AnswerRecord, ServiceChecklist, unanswered_or_unmet, unmet
from .model import Line

UTN_PATTERN = re.compile(r"^[A-Z0-9]{2}[AH][0-9]{11}$")
LINE_OUTCOMES = frozenset({Outcome.AFFIRMED, Outcome.NON_AFFIRMED})
RECOMMENDATIONS = frozenset({Outcome.AFFIRMED, Outcome.NON_AFFIRMED, Outcome.PARTIALLY_AFFIRMED})


@dataclass(frozen=True)
class Unmet:
    criterion_id: str
    reason: str


@dataclass(frozen=True)
class LineOutcome:
    code: str
    outcome: Outcome
    unmet: tuple[Unmet, ...] = ()


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True)
class Decided:
    outcome: Outcome
    lines: tuple[LineOutcome, ...]
    problems: tuple[Problem, ...] = field(default=())


def outcome_of(lines: Sequence[LineOutcome]) -> Outcome:
    """Every line affirmed: affirmed; none: non-affirmed; some: partially affirmed."""
    affirmed = sum(1 for line in lines if line.outcome == Outcome.AFFIRMED)
    if affirmed == len(lines):
        return Outcome.AFFIRMED
    return Outcome.NON_AFFIRMED if affirmed == 0 else Outcome.PARTIALLY_AFFIRMED


def nurse_affirmation(
    checklist: ServiceChecklist, answers: Mapping[str, AnswerRecord], lines: Sequence[Line]
) -> Decided:
    """A nurse's affirmation of every line: allowed only with every required criterion answered met."""
    missing = unanswered_or_unmet(checklist, answers)
    problems = tuple(
        Problem(f"checklist.{cid}", "answer this required criterion met (with evidence) before affirming")
        for cid in missing
    )
    decided = tuple(LineOutcome(line.code, Outcome.AFFIRMED) for line in lines)
    return Decided(Outcome.AFFIRMED, decided, problems)


def md_decision(
    checklist: ServiceChecklist,
    answers: Mapping[str, AnswerRecord],
    lines: Sequence[Line],
    decided: Sequence[LineOutcome],
) -> Decided:
    """A medical director's decision per line, checked: every line decided once; a non-affirmed line names the
    criteria it fails, each with a specific reason; every criterion the checklist records as unmet has a reason."""
    problems: list[Problem] = []
    codes = [line.code for line in lines]
    given = [d.code for d in decided]
    for code in codes:
        if given.count(code) != 1:
            problems.append(Problem(f"lines.{code}", "decide every service line exactly once"))
    for code in set(given) - set(codes):
        problems.append(Problem(f"lines.{code}", "not a service line of this packet"))
    cleaned = []
    for d in decided:
        if d.outcome not in LINE_OUTCOMES:
            problems.append(Problem(f"lines.{d.code}.outcome", "a line is affirmed or non_affirmed"))
            continue
        if d.outcome == Outcome.AFFIRMED:
            cleaned.append(LineOutcome(d.code, d.outcome))
            continue
        if not d.unmet:
            problems.append(Problem(f"lines.{d.code}.unmet", "a non-affirmed line names each unmet criterion"))
        for u in d.unmet:
            if checklist.criterion(u.criterion_id) is None:
                problems.append(Problem(f"lines.{d.code}.unmet.{u.criterion_id}", "not a criterion of this checklist"))
            if not u.reason.strip():
                problems.append(
                    Problem(f"lines.{d.code}.unmet.{u.criterion_id}", "a specific reason is required per criterion")
                )
        cleaned.append(d)
    non_affirmed = [d for d in cleaned if d.outcome == Outcome.NON_AFFIRMED]
    if non_affirmed:
        reasoned = {u.criterion_id for d in non_affirmed for u in d.unmet if u.reason.strip()}
        for cid in unmet(checklist, answers):
            if cid not in reasoned:
                problems.append(
                    Problem(f"checklist.{cid}", "this criterion is recorded as unmet: give the specific reason")
                )
    return Decided(outcome_of(cleaned) if cleaned else Outcome.NON_AFFIRMED, tuple(cleaned), tuple(problems))


def reason_texts(line: LineOutcome, checklist: ServiceChecklist) -> tuple[str, ...]:
    """A line's reasons as the contract carries them: `<criterion id> (<policy>): <reason>`."""
    out = []
    for u in line.unmet:
        criterion = checklist.criterion(u.criterion_id)
        policy = criterion.policy if criterion else ""
        out.append(f"{u.criterion_id} ({policy}): {u.reason.strip()}")
    return tuple(out)


def utn_well_formed(utn: str) -> bool:
    return bool(UTN_PATTERN.fullmatch(utn))


def utn_retry_delay(attempts: int, base: float, cap: float) -> timedelta:
    """Exponential backoff after `attempts` failed asks of the MAC, capped."""
    return timedelta(seconds=min(cap, base * (2 ** max(0, attempts - 1))))
