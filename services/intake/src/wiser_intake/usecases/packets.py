"""Intake's packet use cases, one module per kind: submit, queries, corrections, housekeeping (re-exported here)."""

from __future__ import annotations

from .common import OPEN_STATES, SYSTEM, IncomingDocument, not_found, now, request_hash
from .corrections import correct_packet, dismiss_packet, withdraw_packet
from .cursor import SORTS
from .housekeeping import housekeeping
from .partner_views import get_for_partner, list_for_partner, partner_view
from .queries import (
    COUNTS_TTL,
    document_for,
    ops_row,
    packet_detail,
    packet_facts,
    search_packets,
    state_counts,
)
from .submit import add_document, start_validation, submit_packet

__all__ = [
    "COUNTS_TTL",
    "OPEN_STATES",
    "SORTS",
    "SYSTEM",
    "IncomingDocument",
    "add_document",
    "correct_packet",
    "dismiss_packet",
    "document_for",
    "get_for_partner",
    "housekeeping",
    "list_for_partner",
    "not_found",
    "now",
    "ops_row",
    "packet_detail",
    "packet_facts",
    "partner_view",
    "request_hash",
    "search_packets",
    "start_validation",
    "state_counts",
    "submit_packet",
    "withdraw_packet",
]
