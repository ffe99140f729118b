"""ASC X12 005010X279A1 eligibility: build and parse the 270 inquiry and the 271 response (stdlib only).

``codec`` holds the interchange rules and the choices made (see its docstring); ``eligibility`` reads what
a 271's benefit loops say (Part A/B in effect, Medicare Advantage plan, Railroad Medicare, Medicaid).
"""

from .codec import ORIGINATOR, VERSION, build_270, build_271, clean, parse_270, parse_271
from .eligibility import medicaid, medicare_advantage, part_in_effect, railroad
from .models import AAARejection, Benefit, EligibilityInquiry, EligibilityResponse, Envelope, X12Error

__all__ = [
    "ORIGINATOR",
    "VERSION",
    "AAARejection",
    "Benefit",
    "EligibilityInquiry",
    "EligibilityResponse",
    "Envelope",
    "X12Error",
    "build_270",
    "build_271",
    "clean",
    "medicaid",
    "medicare_advantage",
    "parse_270",
    "parse_271",
    "part_in_effect",
    "railroad",
]
