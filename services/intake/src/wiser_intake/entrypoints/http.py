"""Intake's HTTP routers: the partner API and the ops API."""

from __future__ import annotations

from .ops import ops_router
from .partner import partner_router

__all__ = ["ops_router", "partner_router"]
