"""Criteria checklists (reference data) and the rules for answering them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any


class Answer(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NOT_DOCUMENTED = "not_documented"


UNMET = frozenset({Answer.NOT_MET, Answer.NOT_DOCUMENTED})


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str
    policy: str
    required: bool
    resubmission: str


@dataclass(frozen=True)
class ServiceChecklist:
    service_id: str
    name: str
    policies: tuple[str, ...]
    specialties: frozenset[str]
    codes: Mapping[str, str]  # code -> description
    criteria: tuple[Criterion, ...]
    version: str

    def criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)

    @property
    def required(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.required)


@dataclass(frozen=True)
class Checklists:
    version: str
    effective: date
    services: Mapping[str, ServiceChecklist]

    def for_codes(self, codes: Iterable[str]) -> ServiceChecklist | None:
        """The checklist of the Appendix A service the codes belong to (one service per request)."""
        wanted = {c.strip().upper() for c in codes}
        for checklist in self.services.values():
            if wanted & set(checklist.codes):
                return checklist
        return None

    def description(self, code: str) -> str:
        for checklist in self.services.values():
            if code in checklist.codes:
                return checklist.codes[code]
        return ""


def build_checklists(versions: Sequence[Mapping[str, Any]], on: date) -> Checklists:
    """The checklists in force on `on`: the latest version effective on or before that day."""
    eligible = [v for v in versions if date.fromisoformat(v["effective"]) <= on]
    if not eligible:
        raise LookupError(f"no criteria checklist in force on {on.isoformat()}")
    chosen = max(eligible, key=lambda v: (date.fromisoformat(v["effective"]), v["version"]))
    services = {
        s["id"]: ServiceChecklist(
            service_id=s["id"],
            name=s["name"],
            policies=tuple(s["policies"]),
            specialties=frozenset(s["specialties"]),
            codes={c["code"]: c.get("description", "") for c in s["codes"]},
            criteria=tuple(
                Criterion(c["id"], c["text"], c["policy"], bool(c.get("required", True)), c.get("resubmission", ""))
                for c in s["criteria"]
            ),
            version=chosen["version"],
        )
        for s in chosen["services"]
    }
    return Checklists(chosen["version"], date.fromisoformat(chosen["effective"]), services)


@dataclass(frozen=True)
class Evidence:
    document_id: str | None
    page: int | None
    quote: str


@dataclass(frozen=True)
class AnswerRecord:
    criterion_id: str
    answer: Answer
    evidence: tuple[Evidence, ...] = ()
    note: str = ""
    answered_by: str = ""


def answer_problems(checklist: ServiceChecklist, answer: AnswerRecord) -> list[str]:
    """Why an answer cannot be recorded (empty: it can)."""
    problems = []
    if checklist.criterion(answer.criterion_id) is None:
        problems.append(f"{answer.criterion_id} is not a criterion of the {checklist.name} checklist")
    if answer.answer == Answer.MET and not any(e.quote.strip() for e in answer.evidence):
        problems.append(f"{answer.criterion_id}: a criterion answered met needs evidence (document, page, quote)")
    return problems


def unanswered_or_unmet(checklist: ServiceChecklist, answers: Mapping[str, AnswerRecord]) -> list[str]:
    """The required criteria that keep a nurse from affirming: not answered, or not answered met."""
    return [c.id for c in checklist.required if c.id not in answers or answers[c.id].answer != Answer.MET]


def unmet(checklist: ServiceChecklist, answers: Mapping[str, AnswerRecord]) -> list[str]:
    """The criteria answered not met or not documented."""
    return [c.id for c in checklist.criteria if c.id in answers and answers[c.id].answer in UNMET]
