"""The Letter generation pages render what letters says: blocked sets with their reason (also beside the packet in
the packets list and among at-risk packets), checks that failed, and actions only for letter approvers."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from wiser_gateway.entrypoints.web.common import TEMPLATES

BLOCKED = {
    "set_id": "s-1",
    "packet_id": "p-1",
    "tracking_number": "WSR-2026-000001",
    "kind": "non_affirmation",
    "version": 1,
    "status": "blocked",
    "blocked_reason": "requester: the provider's PTAN is missing",
    "due_at": "2026-11-26T15:00:00+00:00",
    "seconds_left": 3600,
    "needs_person": True,
}


def page(template: str, roles: set[str], query: dict[str, str] | None = None, **ctx: Any) -> str:
    request = SimpleNamespace(query_params=query or {}, url=SimpleNamespace(path="/"))
    user = SimpleNamespace(display_name="Sam", roles=roles)
    return TEMPLATES.env.get_template(template).render(
        request=request, user=user, roles=roles, csrf="t", session=None, now=datetime.now(UTC), **ctx
    )


def test_blocked_sets_are_listed_with_their_reason() -> None:
    html = page("letters.html", {"supervisor"}, drafted=[], blocked=[BLOCKED])
    assert "the provider&#39;s PTAN is missing" in html and "/letters/s-1" in html


def test_the_packets_list_marks_a_packet_whose_letters_are_blocked_and_lists_them_among_at_risk() -> None:
    row = {
        "packet_id": "p-1",
        "tracking_number": "WSR-2026-000001",
        "beneficiary_name": "A B",
        "state": "determined",
        "review_type": "standard",
        "state_of_service": "NJ",
        "received_at": "2026-11-23T10:00:00+00:00",
        "seconds_to_due": 100,
        "at_risk": False,
    }
    ctx = {
        "page": {"items": [row], "next_cursor": None},
        "counts": {},
        "states": ("determined",),
        "blocked_letters": {"p-1": BLOCKED["blocked_reason"]},
        "blocked_sets": [BLOCKED],
    }
    filters = {"q": "", "state": [], "service_code": "", "state_of_service": "", "review_type": "",
               "due_within_hours": "", "at_risk": "true", "sort": "-received_at", "cursor": ""}  # fmt: skip
    html = page("packets_results.html", {"ops_tier1"}, filters=filters, **ctx)
    assert 'class="at-risk"' in html and "letters blocked: requester" in html
    assert "Letters blocked" in html and "/letters/s-1" in html


def test_only_letter_approvers_get_the_actions() -> None:
    s = {
        **BLOCKED,
        "status": "drafted",
        "blocked_reason": None,
        "template_version": "t",
        "letters": [
            {
                "letter_id": "l-1",
                "recipient": "requester",
                "version": 1,
                "sha256": "ab" * 32,
                "pages": 2,
                "status": "drafted",
                "checks": [{"check": "mbi", "passed": False, "detail": "the MBI is missing or malformed"}],
                "paragraphs": {"opening": "We reviewed", "closing": "A copy"},
            }
        ],
    }
    nurse = page("letter_set.html", {"clinical_reviewer"}, s=s, history=None, can_act=True, notice="", error="")
    assert "Approve version 1" in nurse and "failed: the MBI is missing or malformed" in nurse
    assert ">We reviewed</textarea>" in nurse
    ops = page("letter_set.html", {"ops_tier1"}, s=s, history=None, can_act=False, notice="", error="")
    assert "Approve version" not in ops and "Approving letters needs" in ops
