"""Reviewer profiles: who reviews what, where they are licensed, how much they can hold."""

from __future__ import annotations

from datetime import date

from ..domain.model import REVIEWER_ROLES, Licence, Reviewer
from . import errors
from .assignment import assign_waiting
from .ports import Clinical, UnitOfWork

WISER_STATES = ("NJ", "OH", "OK", "TX", "AZ", "WA")
ALL_SERVICES = (
    "knee_arthroscopy",
    "trigeminal_nerve_lesions",
    "vagus_nerve_stimulation",
    "phrenic_nerve_stimulation",
    "spinal_cord_stimulation",
    "incontinence_control_devices",
    "sacral_nerve_stimulation",
    "penile_prosthesis",
    "vertebral_augmentation",
    "epidural_steroid_injections",
    "cervical_fusion",
    "hypoglossal_nerve_stimulation",
    "skin_substitutes",
)
ALL_SPECIALTIES = (
    "orthopedic_surgery",
    "neurosurgery",
    "neurology",
    "pain_medicine",
    "anesthesiology",
    "urology",
    "otolaryngology",
    "sleep_medicine",
    "wound_care",
    "interventional_radiology",
    "pulmonology",
    "psychiatry",
    "physical_medicine",
)


def demo_profile(user_id: str, role: str) -> Reviewer:
    """Dev: licensed in all six states (to the end of 2031) for every service, every specialty."""
    if role not in REVIEWER_ROLES:
        raise ValueError(f"role is one of {REVIEWER_ROLES}")
    return Reviewer(
        user_id=user_id,
        role=role,
        capacity=25,
        licences=tuple(Licence(s, date(2031, 12, 31)) for s in WISER_STATES),
        services=frozenset(ALL_SERVICES),
        specialties=frozenset(ALL_SPECIALTIES) if role == "medical_director" else frozenset(),
        display_name=role.replace("_", " ").title() + " (demo)",
    )


def check_profile(ctx: Clinical, reviewer: Reviewer) -> None:
    unknown = sorted(reviewer.services - set(ctx.checklists.services))
    if unknown:
        raise errors.Invalid("UNKNOWN_SERVICE", f"Unknown services: {', '.join(unknown)}.")
    states = sorted({lic.state for lic in reviewer.licences} - set(WISER_STATES))
    if states:
        raise errors.Invalid("UNKNOWN_STATE", f"Not a WISeR state: {', '.join(states)}.")


async def save_profile(uow: UnitOfWork, reviewer: Reviewer) -> None:
    await uow.save_reviewer(reviewer)


async def put_profile(ctx: Clinical, reviewer: Reviewer) -> Reviewer:
    check_profile(ctx, reviewer)
    async with ctx.uow() as uow:
        await uow.save_reviewer(reviewer)
        await uow.commit()
    await assign_waiting(ctx)  # a new or wider profile may take waiting cases
    return reviewer
