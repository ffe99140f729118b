"""The rendered PDFs: every required element in the extracted text (pypdf, reading order), embedded fonts, title
and language, page numbers, and the same bytes from two processes at different times and time zones."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pypdf
import pytest
from samples import CONTACT, DISMISSAL, PTP, UNMET, UTN
from test_checks import letters

from wiser_letters import templates
from wiser_letters.adapters.render import render
from wiser_letters.domain.compose import compose
from wiser_letters.domain.model import LetterModel
from wiser_letters.usecases.drawing import page_count

TEXTS = templates.latest()["texts"]


def pdf_of(m: LetterModel) -> bytes:
    return render(compose(m, TEXTS))


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(p.extract_text() for p in reader.pages)


def in_order(text: str, *parts: str) -> None:
    at = 0
    flat = " ".join(text.split())
    for part in parts:
        found = flat.find(" ".join(part.split()), at)
        assert found >= 0, f"{part!r} missing (or out of order) in the letter's text"
        at = found + len(part)


COMMON = ("Avery Quillon", "9J06YC0QA26", "December 10, 1948", "Ursula Brightwater", "1151056334", "NJ100000")


@pytest.mark.parametrize("outcome", ["affirmed", "non_affirmed", "partially_affirmed", "dismissed"])
def test_requester_letter_holds_every_element_in_reading_order(outcome: str) -> None:
    req, _ = letters(outcome)
    text = text_of(pdf_of(req))
    head = ["Garden State Review Partners", "November 23, 2026"]
    if outcome != "dismissed":
        in_order(text, *head, UTN, *COMMON)
    else:
        in_order(text, *head, *COMMON)
        assert UTN not in text
    for ln in req.lines:
        words = {"affirmed": "Affirmed", "non_affirmed": "Non-affirmed", "dismissed": "Dismissed"}[ln.decision]
        in_order(text, "Code Description Units Decision", ln.code, ln.description, str(ln.units), words)
    if outcome in ("affirmed", "partially_affirmed"):
        in_order(text, "valid for 120 days", "March 22, 2027", UTN)
    else:
        assert "120 days" not in text
    if outcome in ("non_affirmed", "partially_affirmed"):
        for c in UNMET:
            in_order(
                text, "Reasons for the non-affirmation", c["policy"], c["criterion_id"], c["reason"], c["resubmission"]
            )
        in_order(text, "peer-to-peer", PTP["phone"])
    if outcome == "dismissed":
        in_order(text, DISMISSAL.reason, DISMISSAL.code, DISMISSAL.corrective_action)
    in_order(text, "Contact information", CONTACT.organisation, CONTACT.phone, CONTACT.fax, CONTACT.hours)
    assert "Page 1 of" in text


@pytest.mark.parametrize("outcome", ["affirmed", "non_affirmed", "partially_affirmed", "dismissed"])
def test_beneficiary_copy_exists_and_names_services_in_words(outcome: str) -> None:
    _, ben = letters(outcome)
    text = text_of(pdf_of(ben))
    in_order(text, "November 23, 2026", *COMMON)
    for ln in ben.lines:
        assert f"{ln.description} (code {ln.code})" in " ".join(text.split())
    in_order(text, "Questions", CONTACT.phone)


def test_pdf_has_title_language_and_embedded_fonts() -> None:
    pdf = pdf_of(letters("non_affirmed")[0])
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == "Prior authorization decision: Non-affirmed"
    assert reader.trailer["/Root"]["/Lang"] == "en-US"
    fonts = set()
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            f = f.get_object()
            if "/FontDescriptor" in f:
                d = f["/FontDescriptor"].get_object()
                assert "/FontFile2" in d, "TrueType font not embedded"
                fonts.add(str(f["/BaseFont"]).split("+")[-1])
    assert {"DejaVuSans", "DejaVuSans-Bold"} <= fonts
    assert page_count(pdf) == len(reader.pages) == 2
    assert "Page 2 of 2" in text_of(pdf)


def test_reclassification_notice() -> None:
    from datetime import UTC, date, datetime

    from samples import PACKET

    from wiser_letters.domain.checks import check_letter, failures
    from wiser_letters.domain.model import build_reclassification_notice

    m = build_reclassification_notice(
        packet=PACKET,
        contact=CONTACT,
        template_version="x",
        letter_date=date(2026, 11, 23),
        due_at=datetime(2026, 11, 26, 14, 0, tzinfo=UTC),
        reason="No risk to life or function documented",
    )
    doc = compose(m, TEXTS)
    assert failures(check_letter(m, doc)) == []
    text = text_of(render(doc))
    in_order(
        text, "expedited request changed to standard review", "Avery Quillon", "standard timeline", "November 26, 2026"
    )


SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    sys.path.insert(0, {tests!r})
    from test_render import letters, pdf_of
    out = []
    for outcome in ("affirmed", "non_affirmed", "partially_affirmed", "dismissed"):
        for m in letters(outcome):
            out.append(hashlib.sha256(pdf_of(m)).hexdigest())
    print(",".join(out))
    """
)


def _hashes_in_process(tz: str, fake_time: str | None) -> str:
    env = {**os.environ, "TZ": tz, "PYTHONHASHSEED": "random"}
    code = SCRIPT.format(tests=str(Path(__file__).parent))
    if fake_time:
        # A different wall clock for the child: time.time and datetime.now both move (reportlab must not read them).
        code = (
            "import time, datetime as _dt\n"
            f"_off = {fake_time} - time.time()\n"
            "_t = time.time\n"
            "time.time = lambda: _t() + _off\n" + code
        )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    return r.stdout.strip()


def test_same_input_same_bytes_across_processes_times_and_time_zones() -> None:
    first = _hashes_in_process("UTC", None)
    second = _hashes_in_process("Pacific/Kiritimati", "1893456000")  # 2030-01-01, UTC+14
    third = _hashes_in_process("America/Adak", None)
    assert first == second == third
    assert len(set(first.split(","))) == 8
    here = ",".join(
        hashlib.sha256(pdf_of(m)).hexdigest()
        for o in ("affirmed", "non_affirmed", "partially_affirmed", "dismissed")
        for m in letters(o)
    )
    assert here == first


def test_a_letter_renders_the_same_first_and_after_others() -> None:
    """The per-process caches (font subsets, split text) never change what a letter embeds or says."""
    m = letters("non_affirmed")[1]
    first = pdf_of(m)
    for outcome in ("affirmed", "partially_affirmed", "dismissed"):
        for other in letters(outcome):
            pdf_of(other)
    again = pdf_of(m)
    assert again == first
    reader = pypdf.PdfReader(io.BytesIO(again))
    assert "·" in reader.pages[0].extract_text()  # a primed character still has its glyph and its text
