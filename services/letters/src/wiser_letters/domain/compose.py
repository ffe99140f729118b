"""A letter model and a template version's texts → the document in reading order (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from .document import Block, Bullets, Document, Heading, KeyValues, Lines, Para, Table, long_date
from .model import DECISION_WORDS, PLAIN_DECISION, Kind, LetterModel, Recipient

LANG = "en-US"
EDITABLE = ("opening", "closing")
ORDINALS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)  # the free-text paragraphs a person may rewrite (a new version)


def _clean(text: str) -> str:
    return text.strip().rstrip(".")


def _fill(texts: Mapping[str, str], key: str, **values: object) -> str:
    return texts[key].format(**values)


def letterhead(m: LetterModel) -> tuple[str, ...]:
    c = m.contact
    return (c.organisation, " · ".join(c.address.lines()), f"Phone {c.phone} · Fax {c.fax} · {c.website}")


def _addressee(m: LetterModel) -> Lines:
    a = m.addressee
    lines = [a.name]
    if a.attention and a.attention != a.name:
        lines.append(f"Attn: {a.attention}")
    if a.address:
        lines.extend(a.address.lines())
    return Lines(tuple(x for x in lines if x))


def _contact_lines(m: LetterModel) -> Lines:
    c = m.contact
    return Lines(
        (
            c.organisation,
            *c.address.lines(),
            f"Phone: {c.phone} (TTY {c.tty})",
            f"Fax: {c.fax}",
            f"Hours: {c.hours}",
            f"Web: {c.website}",
        )
    )


def compose(m: LetterModel, texts: Mapping[str, str]) -> Document:
    if m.kind == Kind.RECLASSIFICATION_NOTICE:
        blocks = _notice(m, texts)
        title = _fill(texts, "notice.title")
    elif m.recipient == Recipient.REQUESTER:
        blocks = _requester(m, texts)
        title = _fill(texts, f"requester.title.{m.kind.value}")
    else:
        blocks = _beneficiary(m, texts)
        title = _fill(texts, "beneficiary.title")
    footer = _fill(texts, "footer", organisation=m.contact.organisation, tracking_number=m.tracking_number)
    return Document(title=title, lang=LANG, letterhead=letterhead(m), footer=footer, blocks=tuple(blocks))


def _editable(m: LetterModel, texts: Mapping[str, str], name: str, key: str, **values: object) -> Para:
    text = m.paragraphs.get(name, "").strip() or _fill(texts, key, **values)
    return Para(text, name=name)


def _identifiers(m: LetterModel) -> KeyValues:
    rows: list[tuple[str, str]] = []
    if m.kind != Kind.DISMISSAL:
        rows.append(("Unique Tracking Number (UTN)", m.utn or ""))
    rows += [
        ("Tracking number", m.tracking_number),
        ("Beneficiary", m.beneficiary_name),
        ("Medicare Beneficiary Identifier (MBI)", m.mbi),
        ("Date of birth", long_date(m.date_of_birth) if m.date_of_birth else ""),
        ("Provider", m.provider_name),
        ("Provider NPI", m.provider_npi),
        ("Provider PTAN", m.provider_ptan),
    ]
    if m.facility_name:
        rows.append(("Facility", f"{m.facility_name} (NPI {m.facility_npi})" if m.facility_npi else m.facility_name))
    if m.decided_at:
        rows.append(("Decision date", long_date(m.decided_at)))
    if m.valid_until:
        rows.append(("Valid through", long_date(m.valid_until)))
    return KeyValues(tuple(rows))


def _requester(m: LetterModel, texts: Mapping[str, str]) -> list[Block]:
    kind = m.kind.value
    blocks: list[Block] = [
        Para(long_date(m.letter_date), prose=False),
        _addressee(m),
        Heading(_fill(texts, f"requester.title.{kind}")),
        _identifiers(m),
        _editable(m, texts, "opening", f"requester.opening.{kind}"),
        Heading("Services", 2),
        Table(
            ("Code", "Description", "Units", "Decision"),
            tuple(
                (ln.code, ln.description, str(ln.units), DECISION_WORDS.get(ln.decision, ln.decision)) for ln in m.lines
            ),
            (0.12, 0.58, 0.1, 0.2),
        ),
    ]
    if m.affirms and m.valid_until:
        blocks.append(Para(_fill(texts, "requester.validity", valid_until=long_date(m.valid_until), utn=m.utn)))
    if m.denies:
        blocks.append(Heading(_fill(texts, "requester.reasons"), 2))
        for ln in m.lines:
            if ln.decision != "non_affirmed":
                continue
            blocks.append(Heading(f"{ln.code} {ln.description}", 3))
            blocks.append(
                Bullets(
                    tuple(
                        _fill(
                            texts,
                            "requester.criterion",
                            policy=c.policy,
                            criterion_id=c.criterion_id,
                            criterion=_clean(c.criterion) + ".",
                            reason=_clean(c.reason) + ".",
                            resubmission=_clean(c.resubmission) + ".",
                        )
                        for c in ln.unmet
                    )
                )
            )
        blocks.append(Para(_fill(texts, "requester.resubmission", utn=m.utn)))
        if m.peer_to_peer:
            p = m.peer_to_peer
            blocks.append(Para(_fill(texts, "requester.peer_to_peer", phone=p.phone, hours=p.hours, how=p.how)))
    if m.kind == Kind.DISMISSAL and m.dismissal:
        d = m.dismissal
        blocks.append(Para(_fill(texts, "requester.dismissal_reason", reason=_clean(d.reason), code=d.code)))
        blocks.append(Para(_fill(texts, "requester.dismissal_action", corrective_action=_clean(d.corrective_action))))
    blocks.append(_editable(m, texts, "closing", "requester.closing"))
    blocks.append(Heading(_fill(texts, "requester.contact"), 2))
    blocks.append(_contact_lines(m))
    return blocks


def plain_service(description: str, code: str) -> str:
    """A service in words, its code only beside them."""
    return f"{description} (code {code})"


def _beneficiary(m: LetterModel, texts: Mapping[str, str]) -> list[Block]:
    kind = m.kind.value
    rows: list[tuple[str, str]] = [
        ("Your name", m.beneficiary_name),
        ("Your Medicare number (MBI)", m.mbi),
        ("Your date of birth", long_date(m.date_of_birth) if m.date_of_birth else ""),
        ("Your provider", m.provider_name),
        ("Provider NPI", m.provider_npi),
        ("Provider PTAN", m.provider_ptan),
    ]
    if m.kind != Kind.DISMISSAL:
        rows.insert(0, ("Decision number (UTN)", m.utn or ""))
    if m.valid_until:
        rows.append(("Approval ends", long_date(m.valid_until)))
    blocks: list[Block] = [
        Para(long_date(m.letter_date), prose=False),
        _addressee(m),
        Heading(_fill(texts, "beneficiary.title")),
        KeyValues(tuple(rows)),
        Para(_fill(texts, "beneficiary.intro")),
        _editable(m, texts, "opening", f"beneficiary.opening.{kind}"),
        Heading("What we decided", 2),
        Table(
            ("Service", "Units", "Decision"),
            tuple(
                (plain_service(ln.description, ln.code), str(ln.units), PLAIN_DECISION.get(ln.decision, ln.decision))
                for ln in m.lines
            ),
            (0.6, 0.12, 0.28),
        ),
    ]
    if m.affirms and m.valid_until:
        blocks.append(Para(_fill(texts, "beneficiary.validity", valid_until=long_date(m.valid_until))))
    if m.denies:
        policies = []
        for i, ln in enumerate(m.lines):
            if ln.decision == "non_affirmed":
                names = sorted({c.policy for c in ln.unmet if c.policy})
                # The service by its place in the table above (its words are there): clinical names of services
                # would make the plain-language copy harder to read than the rule the reader needs.
                policies.append(
                    _fill(
                        texts,
                        "beneficiary.rule",
                        ordinal=ORDINALS[i] if i < len(ORDINALS) else f"number {i + 1}",
                        description=ln.description.lower(),
                        policy=" and ".join(names),
                    )
                )
        blocks.append(Bullets(tuple(policies)))
        blocks.append(Para(_fill(texts, "beneficiary.next.denied")))
    elif m.kind == Kind.AFFIRMATION:
        blocks.append(Para(_fill(texts, "beneficiary.next.affirmed")))
    if m.kind == Kind.DISMISSAL and m.dismissal:
        d = m.dismissal
        blocks.append(Para(_fill(texts, "beneficiary.dismissal_reason", reason=_clean(d.reason))))
        blocks.append(Para(_fill(texts, "beneficiary.dismissal_action", corrective_action=_clean(d.corrective_action))))
    blocks.append(_editable(m, texts, "closing", "beneficiary.closing"))
    blocks.append(Heading("Questions", 2))
    c = m.contact
    blocks.append(Para(_fill(texts, "beneficiary.contact", phone=c.phone, tty=c.tty, hours=c.hours)))
    blocks.append(_contact_lines(m))
    return blocks


def _notice(m: LetterModel, texts: Mapping[str, str]) -> list[Block]:
    blocks: list[Block] = [
        Para(long_date(m.letter_date), prose=False),
        _addressee(m),
        Heading(_fill(texts, "notice.title")),
        KeyValues(
            (
                ("Tracking number", m.tracking_number),
                ("Beneficiary", m.beneficiary_name),
                ("Medicare Beneficiary Identifier (MBI)", m.mbi),
                ("Date of birth", long_date(m.date_of_birth) if m.date_of_birth else ""),
                ("Provider", m.provider_name),
                ("Provider NPI", m.provider_npi),
                ("Provider PTAN", m.provider_ptan),
                ("Services", ", ".join(f"{ln.code} × {ln.units}" for ln in m.lines)),
                ("Review type", "Standard (was expedited)"),
            )
        ),
        Para(_fill(texts, "notice.body")),
        Para(_fill(texts, "notice.due", due_at=long_date(m.due_at) if m.due_at else "")),
    ]
    if m.reclassification_reason:
        blocks.append(Para(_fill(texts, "notice.reason", reason=m.reclassification_reason), prose=False))
    blocks.append(Para(_fill(texts, "notice.closing")))
    blocks.append(Heading(_fill(texts, "requester.contact"), 2))
    blocks.append(_contact_lines(m))
    return blocks
