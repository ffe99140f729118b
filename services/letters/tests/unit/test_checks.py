"""Compliance checks: a complete letter passes every check; a letter missing any required element fails (one test
per element, DOMAIN.md "Letters")."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from samples import CONTACT, DESCRIPTIONS, DISMISSAL, LETTER_DATE, PACKET, UTN, determination, dismissed_packet

from wiser_letters import templates
from wiser_letters.domain.checks import check_letter, failures
from wiser_letters.domain.compose import compose
from wiser_letters.domain.model import Contact, Criterion, LetterModel, PeerToPeer, build_letters

TEXTS = templates.latest()["texts"]
VERSION = templates.latest()["version"]


def letters(outcome: str) -> tuple[LetterModel, LetterModel]:
    if outcome == "dismissed":
        return build_letters(
            packet=dismissed_packet(),
            determination=None,
            dismissal=DISMISSAL,
            descriptions=DESCRIPTIONS,
            contact=CONTACT,
            template_version=VERSION,
            letter_date=LETTER_DATE,
            utn=None,
        )
    return build_letters(
        packet=PACKET,
        determination=determination(outcome),
        dismissal=None,
        descriptions=DESCRIPTIONS,
        contact=CONTACT,
        template_version=VERSION,
        letter_date=LETTER_DATE,
        utn=UTN,
    )


def failed(m: LetterModel, texts: dict[str, str] | None = None) -> set[str]:
    return {r.check for r in failures(check_letter(m, compose(m, texts or TEXTS)))}


@pytest.mark.parametrize("outcome", ["affirmed", "non_affirmed", "partially_affirmed", "dismissed"])
def test_complete_letters_pass_every_check(outcome: str) -> None:
    for m in letters(outcome):
        assert failed(m) == set(), (outcome, m.recipient)


def req(outcome: str = "non_affirmed", **changes: Any) -> LetterModel:
    return dataclasses.replace(letters(outcome)[0], **changes)


def test_missing_utn_fails() -> None:
    assert "utn" in failed(req("affirmed", utn=None))


def test_malformed_utn_fails() -> None:
    assert "utn" in failed(req("affirmed", utn="123"))


def test_dismissal_needs_no_utn() -> None:
    assert "utn" not in failed(letters("dismissed")[0])


def test_missing_beneficiary_name_fails() -> None:
    assert "beneficiary_name" in failed(req(beneficiary_name=""))


def test_missing_mbi_fails() -> None:
    assert "mbi" in failed(req(mbi=""))


def test_missing_date_of_birth_fails() -> None:
    assert "date_of_birth" in failed(req(date_of_birth=None))


def test_missing_provider_name_fails() -> None:
    assert "provider_name" in failed(req(provider_name=""))


def test_missing_npi_fails() -> None:
    assert "provider_npi" in failed(req(provider_npi=""))


def test_missing_ptan_fails() -> None:
    assert "provider_ptan" in failed(req(provider_ptan=""))


def test_no_services_fails() -> None:
    assert "services" in failed(req(lines=()))


def test_service_without_description_fails() -> None:
    m = req()
    lines = (dataclasses.replace(m.lines[0], description=""), *m.lines[1:])
    assert "services" in failed(dataclasses.replace(m, lines=lines))


def test_service_without_units_fails() -> None:
    m = req()
    lines = (dataclasses.replace(m.lines[0], units=0), *m.lines[1:])
    assert "services" in failed(dataclasses.replace(m, lines=lines))


def test_service_without_decision_fails() -> None:
    m = req()
    lines = (dataclasses.replace(m.lines[0], decision=""), *m.lines[1:])
    assert "services" in failed(dataclasses.replace(m, lines=lines))


def test_decisions_that_contradict_the_outcome_fail() -> None:
    m = req("affirmed")
    lines = (dataclasses.replace(m.lines[0], decision="non_affirmed"), *m.lines[1:])
    assert "decisions" in failed(dataclasses.replace(m, lines=lines))


def test_non_affirmation_without_reasons_fails() -> None:
    m = req()
    lines = tuple(dataclasses.replace(ln, unmet=()) for ln in m.lines)
    assert "reasons" in failed(dataclasses.replace(m, lines=lines))


def _first_criterion(m: LetterModel, **changes: str) -> LetterModel:
    ln = m.lines[0]
    c: Criterion = dataclasses.replace(ln.unmet[0], **changes)
    return dataclasses.replace(m, lines=(dataclasses.replace(ln, unmet=(c, *ln.unmet[1:])), *m.lines[1:]))


def test_reason_not_tied_to_an_ncd_or_lcd_fails() -> None:
    assert "reasons" in failed(_first_criterion(req(), policy="the usual rules"))


def test_reason_without_words_fails() -> None:
    assert "reasons" in failed(_first_criterion(req(), reason=""))


def test_reason_without_resubmission_instructions_fails() -> None:
    assert "reasons" in failed(_first_criterion(req(), resubmission=""))


def test_non_affirmation_without_peer_to_peer_fails() -> None:
    assert "peer_to_peer" in failed(req(peer_to_peer=None))
    assert "peer_to_peer" in failed(req(peer_to_peer=PeerToPeer("", "", "")))


def test_affirmation_without_validity_fails() -> None:
    assert "validity" in failed(req("affirmed", valid_until=None))


def test_affirmation_with_the_wrong_validity_fails() -> None:
    m = req("affirmed")
    assert m.valid_until is not None
    assert "validity" in failed(dataclasses.replace(m, valid_until=m.valid_until.replace(day=1)))


def test_dismissal_without_reason_fails() -> None:
    m = letters("dismissed")[0]
    assert m.dismissal is not None
    assert "dismissal" in failed(dataclasses.replace(m, dismissal=dataclasses.replace(m.dismissal, reason="")))
    assert "dismissal" in failed(dataclasses.replace(m, dismissal=None))


def test_dismissal_without_corrective_action_fails() -> None:
    m = letters("dismissed")[0]
    assert m.dismissal is not None
    changed = dataclasses.replace(m.dismissal, corrective_action="")
    assert "dismissal" in failed(dataclasses.replace(m, dismissal=changed))


def test_missing_contact_fails() -> None:
    assert "contact" in failed(req(contact=dataclasses.replace(CONTACT, phone="")))
    assert "contact" in failed(req(contact=Contact("", CONTACT.address, "1", "", "", "")))


def test_a_template_that_drops_an_element_fails() -> None:
    """The checks read the composed letter too: a template without the validity sentence fails."""
    texts = {**TEXTS, "requester.validity": "Submit the claim with the UTN {utn}. ({valid_until})"}
    assert "validity" in failed(req("affirmed"), texts)


def test_missing_letter_date_fails() -> None:
    texts = {**TEXTS}
    m = req()
    doc = compose(m, texts)
    # A document without its date line (as a broken template would give).
    broken = dataclasses.replace(doc, blocks=doc.blocks[1:])
    assert "date" in {r.check for r in failures(check_letter(m, broken))}


def test_beneficiary_copy_above_grade_8_fails() -> None:
    ben = letters("non_affirmed")[1]
    hard = (
        "Notwithstanding the aforementioned documentation, comprehensive neurophysiological evaluation "
        "demonstrated insufficiently substantiated contraindications necessitating additional multidisciplinary "
        "consultation prior to authorization"
    )
    opening = ", ".join([hard] * 4) + "."
    assert "readability" in failed(dataclasses.replace(ben, paragraphs={"opening": opening}))


def test_beneficiary_copy_with_a_bare_code_fails() -> None:
    ben = letters("affirmed")[1]
    assert "codes_in_words" in failed(dataclasses.replace(ben, paragraphs={"closing": "You may get 64581 now."}))
