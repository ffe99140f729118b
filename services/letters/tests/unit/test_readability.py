from __future__ import annotations

import pytest
from test_checks import letters

from wiser_letters import templates
from wiser_letters.domain.compose import compose
from wiser_letters.domain.readability import measure, syllables


def test_syllables() -> None:
    assert [syllables(w) for w in ("cat", "table", "approved", "Medicare", "service", "beneficiary")] == [
        1,
        2,
        2,
        3,
        2,
        5,
    ]


def test_grade_of_known_texts() -> None:
    assert measure(["The cat sat on the mat."]).grade < 2
    hard = measure(
        ["Comprehensive neurophysiological evaluation demonstrated insufficiently substantiated contraindications."]
    )
    assert hard.grade > 16


@pytest.mark.parametrize("outcome", ["affirmed", "non_affirmed", "partially_affirmed", "dismissed"])
def test_beneficiary_copy_reads_at_grade_8_or_below(outcome: str) -> None:
    ben = letters(outcome)[1]
    doc = compose(ben, templates.latest()["texts"])
    r = measure(doc.prose())
    assert r.words > 40
    assert r.grade <= 8.0, r


def test_long_clinical_service_names_do_not_make_the_beneficiary_copy_hard() -> None:
    import dataclasses

    ben = letters("non_affirmed")[1]
    long_name = "Percutaneous implantation of neurostimulator electrode array, sacral nerve, with imaging guidance"
    lines = tuple(dataclasses.replace(ln, description=long_name) for ln in ben.lines) * 3
    doc = compose(dataclasses.replace(ben, lines=lines), templates.latest()["texts"])
    assert measure(doc.prose()).grade <= 8.0
