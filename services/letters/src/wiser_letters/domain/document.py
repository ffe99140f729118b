"""What a rendered letter holds, in reading order: blocks a renderer lays out (pure data, no reportlab)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(d: date | datetime) -> str:
    """`November 23, 2026`, the same in every locale."""
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Para:
    text: str
    name: str = ""  # a free-text paragraph a person may edit has a name
    prose: bool = True  # counted by the readability check


@dataclass(frozen=True)
class Lines:
    """An address or contact block: one line each, no prose."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class KeyValues:
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] = ()  # fractions of the text width


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    prose: bool = True


Block = Heading | Para | Lines | KeyValues | Table | Bullets


@dataclass(frozen=True)
class Document:
    title: str
    lang: str
    letterhead: tuple[str, ...]
    footer: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """Everything the letter says, in reading order (what a PDF text extraction should give back)."""
        out: list[str] = list(self.letterhead)
        for b in self.blocks:
            out.extend(block_text(b))
        out.append(self.footer)
        return "\n".join(out)

    def prose(self) -> list[str]:
        """The sentences a reader reads as text (paragraphs and lists), not tables or address blocks."""
        out: list[str] = []
        for b in self.blocks:
            if isinstance(b, Para) and b.prose:
                out.append(b.text)
            elif isinstance(b, Bullets) and b.prose:
                out.extend(b.items)
        return out


def block_text(b: Block) -> list[str]:
    if isinstance(b, Heading | Para):
        return [b.text]
    if isinstance(b, Lines):
        return list(b.lines)
    if isinstance(b, KeyValues):
        return [f"{k}: {v}" for k, v in b.rows]
    if isinstance(b, Table):
        return [" ".join(b.header), *(" ".join(r) for r in b.rows)]
    return list(b.items)
