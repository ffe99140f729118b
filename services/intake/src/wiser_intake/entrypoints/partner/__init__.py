"""The partner API (PARTNER_API.md): OAuth2, submit, read, withdraw, documents, letters, webhooks; one module
per part, one router for all of them, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from . import letters, packets, token, webhooks
from .auth import PartnerDep, current_partner

partner_router = APIRouter(tags=["partner"])
for part in (token, packets, letters, webhooks):
    partner_router.include_router(part.router)

__all__ = ["PartnerDep", "current_partner", "partner_router"]
