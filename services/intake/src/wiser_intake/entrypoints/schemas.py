"""What intake's routes answer, as types: the OpenAPI documents every response body and every status.

The models allow extra fields: a field a later change adds to a view is passed on (and should be added here);
only the fields named are documented and checked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class FieldError(Out):
    field: str
    code: str
    message: str


class ProblemOut(Out):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str | None = None
    errors: list[FieldError] | None = None


class TokenOut(Out):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int


class SubmitResult(Out):
    packet_id: str
    tracking_number: str
    state: str
    review_type: str
    received_at: str
    due_at: str


class DeterminationLine(Out):
    code: str
    outcome: str
    reasons: list[str] = []


class Determination(Out):
    outcome: str
    utn: str | None = None
    decided_at: str
    valid_until: str | None = None
    lines: list[DeterminationLine] = []


class DismissalReason(Out):
    code: str
    reason: str = ""


class Dismissal(Out):
    code: str
    reason: str = ""
    all: list[Any] = []


class LetterLink(Out):
    letter_id: str
    kind: str
    url: str


class HistoryStep(Out):
    from_: str | None = Field(None, alias="from")
    to: str
    at: str


class PacketView(Out):
    """A packet as its partner sees it (PARTNER_API.md "Tracking")."""

    packet_id: str
    tracking_number: str
    external_ref: str | None = None
    state: str
    review_type: str
    received_at: str
    due_at: str
    updated_at: str | None = None
    closure_reason: str | None = None
    determination: Determination | None = None
    dismissal: Dismissal | None = None
    letters: list[LetterLink] = []
    history: list[HistoryStep] = []


class PacketPage(Out):
    items: list[PacketView]
    next_cursor: str | None = None


class DocumentOut(Out):
    document_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    category: str


class WebhookCreated(Out):
    webhook_id: str
    secret: str = Field(description="Signs the deliveries (Wiser-Signature); shown only here.")
    url: str
    events: list[str]


class WebhookOut(Out):
    webhook_id: str
    url: str
    events: list[str]
    created_at: str


class WebhookList(Out):
    items: list[WebhookOut]


# ------------------------------------------------------------------------------------------- ops


class OpsRow(Out):
    packet_id: str
    tracking_number: str
    state: str
    version: int
    review_type: str
    received_at: str
    due_at: str


class OpsPage(Out):
    items: list[OpsRow]
    next_cursor: str | None = None


class PacketDetail(OpsRow):
    """The ops detail: the packet's facts, and (view=full) its documents, history and corrections."""

    services: list[dict[str, Any]] = []
    diagnosis_codes: list[str] = []
    documents: list[dict[str, Any]] | None = None
    history: list[dict[str, Any]] | None = None
    corrections: list[dict[str, Any]] | None = None
    document_count: int | None = None


STATUS_TEXT = {
    400: "Malformed request (a bad cursor, a malformed body)",
    401: "No valid credentials",
    403: "Not allowed for this caller",
    404: "No such resource for this caller",
    409: "Not allowed in the packet's state, or already exists",
    412: "The packet changed since (If-Match)",
    413: "Body, document or document count over the limit",
    415: "Media type not accepted",
    422: "Invalid request: `errors` names the fields",
    428: "If-Match required",
    429: "Too many requests: see Retry-After",
    502: "An upstream service failed",
    503: "An upstream service is unavailable: see Retry-After",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for these statuses, each a problem+json body."""
    return {
        status: {
            "model": ProblemOut,
            "description": STATUS_TEXT[status],
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}},
        }
        for status in statuses
    }
