"""Rendering a letter document to PDF with reportlab's platypus.

- Embedded TrueType fonts (DejaVu, Debian's fonts-dejavu-core), registered once per process.
- Letterhead on every page, "Page n of m" in the footer, the document's title and language set.
- Invariant mode: no creation time, no random document id, so the same document and template version give
  the same bytes in any process, at any time, in any time zone.
- Text is drawn in reading order (letterhead, body top to bottom, footer), and stays selectable.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    ListFlowable,
    ListItem,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.paraparser import ParaParser

from ..domain import document as d

rl_config.invariant = 1  # no timestamps or random ids in the file: same input, same bytes
rl_config.useA85 = 0  # binary streams: ASCII85 only makes the file bigger and slower

FONT_DIRS = (
    os.environ.get("WISER_LETTERS_FONT_DIR", ""),
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/local/share/fonts/dejavu",
)
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
RENDERER_VERSION = "1"


class FontsMissing(RuntimeError):
    pass


def font_dir() -> Path:
    for candidate in FONT_DIRS:
        if candidate and (Path(candidate) / f"{REGULAR}.ttf").is_file() and (Path(candidate) / f"{BOLD}.ttf").is_file():
            return Path(candidate)
    raise FontsMissing(
        "DejaVu fonts not found (apt-get install fonts-dejavu-core, or set WISER_LETTERS_FONT_DIR to a folder holding "
        "DejaVuSans.ttf and DejaVuSans-Bold.ttf)"
    )


# Characters outside ASCII the templates use, assigned to the font subset in this fixed order at the start of
# every letter: with ASCII already fixed (reportlab's asciiReadable), most letters then embed the very same subset,
# so its file and its compressed stream are made once per process instead of once per letter.
PRIMER = "·•×–—’‘“”é"


def _cache_subsets(font: TTFont) -> None:
    make = font.face.makeSubset
    cache: dict[tuple[int, ...], bytes] = {}

    def make_subset(subset: list[int]) -> bytes:
        key = tuple(subset)
        found = cache.get(key)
        if found is None:
            if len(cache) >= 32:
                cache.pop(next(iter(cache)))
            found = cache[key] = make(subset)
        return found

    font.face.makeSubset = make_subset

    # Splitting text into subset codes is a Python loop per character. A text made only of characters whose codes
    # are fixed in every letter (ASCII, kept in place by asciiReadable, and the primer, assigned first) splits the
    # same way in every document: remember it.
    split = font.splitString
    fixed = frozenset(range(32, 127)) | {ord(c) for c in PRIMER}
    memo: dict[str, list[tuple[int, bytes]]] = {}

    def split_string(text: Any, doc: Any, encoding: str = "utf-8") -> list[tuple[int, bytes]]:
        found = memo.get(text) if isinstance(text, str) else None
        if found is not None:
            return list(found)
        result: list[tuple[int, bytes]] = split(text, doc, encoding)
        if isinstance(text, str) and fixed.issuperset(map(ord, text)):
            if len(memo) >= 50_000:
                memo.clear()
            memo[text] = list(result)
        return result

    font.splitString = split_string
    font.prime = lambda doc: split(PRIMER, doc)  # always assigns the primer's codes in this document


class _FlateCache:
    """zlib for PDF streams, remembering the output for large inputs seen before (the embedded font subsets)."""

    MIN = 4096

    def __init__(self, encode: Any) -> None:
        self._encode = encode
        self._cache: dict[bytes, bytes] = {}

    def __call__(self, text: Any) -> bytes:
        if isinstance(text, str) or len(text) < self.MIN:
            return self._encode(text)  # type: ignore[no-any-return]
        found = self._cache.get(text)
        if found is None:
            if len(self._cache) >= 16:
                self._cache.pop(next(iter(self._cache)))
            found = self._cache[text] = self._encode(text)
        return found


@lru_cache(maxsize=1)
def register_fonts() -> str:
    """Register the fonts once per process (parsing a TTF costs far more than a letter)."""
    folder = font_dir()
    for name in (REGULAR, BOLD):
        if name not in pdfmetrics.getRegisteredFontNames():
            font = TTFont(name, str(folder / f"{name}.ttf"))
            _cache_subsets(font)
            pdfmetrics.registerFont(font)
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
    if not isinstance(pdfdoc.PDFZCompress.encode, _FlateCache):
        pdfdoc.PDFZCompress.encode = _FlateCache(pdfdoc.PDFZCompress.encode)  # type: ignore[method-assign]
    return str(folder)


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    h3: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    lines: ParagraphStyle
    date: ParagraphStyle


@lru_cache(maxsize=1)
def styles() -> Styles:
    register_fonts()
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=10, leading=13.5, spaceAfter=6)
    return Styles(
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=8, leading=10, spaceAfter=0),
        h1=ParagraphStyle("h1", parent=body, fontName=BOLD, fontSize=14, leading=18, spaceBefore=6, spaceAfter=8),
        h2=ParagraphStyle("h2", parent=body, fontName=BOLD, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4),
        h3=ParagraphStyle("h3", parent=body, fontName=BOLD, fontSize=10, leading=13, spaceBefore=4, spaceAfter=2),
        cell=ParagraphStyle("cell", parent=body, fontSize=9, leading=11.5, spaceAfter=0),
        cell_bold=ParagraphStyle("cellb", parent=body, fontName=BOLD, fontSize=9, leading=11.5, spaceAfter=0),
        lines=ParagraphStyle("lines", parent=body, spaceAfter=8),
        date=ParagraphStyle("date", parent=body, alignment=TA_RIGHT),
    )


TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), BOLD, 9, 11.5),
        ("FONT", (0, 1), (-1, -1), REGULAR, 9, 11.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.HexColor("#1f3a5f")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#b8c2cc")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
)
KV_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (0, -1), BOLD, 9, 11.5),
        ("FONT", (1, 0), (1, -1), REGULAR, 9, 11.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
)

PAGE_W, PAGE_H = LETTER
MARGIN = 0.9 * inch
TOP = 1.35 * inch  # room for the letterhead
TEXT_W = PAGE_W - 2 * MARGIN


_PROTOTYPES: dict[str, Any] = {}


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text. Parsing markup is a sixth of a letter's cost and our texts have none: the one
    fragment the parser would make is cloned from the style's prototype instead (the same bytes come out)."""
    if "<" in text or "&" in text or ">" in text:
        return Paragraph(escape(text), style)
    proto = _PROTOTYPES.get(style.name)
    if proto is None:
        proto = _PROTOTYPES[style.name] = ParaParser().parse("x", style)[1][0]
    return Paragraph(text, style, frags=[proto.clone(text=" ".join(text.split()))])


def flowables(doc: d.Document) -> list[Any]:
    s = styles()
    out: list[Any] = []
    for b in doc.blocks:
        if isinstance(b, d.Heading):
            out.append(_p(b.text, {1: s.h1, 2: s.h2}.get(b.level, s.h3)))
        elif isinstance(b, d.Para):
            out.append(_p(b.text, s.body))
        elif isinstance(b, d.Lines):
            out.append(Paragraph("<br/>".join(escape(x) for x in b.lines), s.lines))
        elif isinstance(b, d.KeyValues):
            # Plain strings, not paragraphs: identifiers never wrap, and a cell string costs a tenth of a paragraph.
            t = Table(
                [[k, v] for k, v in b.rows],
                colWidths=(TEXT_W * 0.42, TEXT_W * 0.58),
                hAlign="LEFT",
            )
            t.setStyle(KV_STYLE)
            out += [t, Spacer(1, 8)]
        elif isinstance(b, d.Table):
            widths = [TEXT_W * w for w in b.widths] if b.widths else None
            # Only the wide columns (descriptions) wrap; codes, units and decisions are plain cell strings.
            wraps = [w >= 0.3 for w in b.widths] if b.widths else [True] * len(b.header)
            rows: list[list[Any]] = [list(b.header)]
            rows += [[_p(c, s.cell) if wraps[j] else c for j, c in enumerate(r)] for r in b.rows]
            t = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
            t.setStyle(TABLE_STYLE)
            out += [t, Spacer(1, 8)]
        elif isinstance(b, d.Bullets):
            items = [ListItem(_p(x, s.body), leftIndent=14) for x in b.items]
            out.append(ListFlowable(items, bulletType="bullet", start="•", leftIndent=14, bulletFontName=REGULAR))
    # Keep the contact block with its heading.
    if len(out) >= 2:
        out[-2:] = [KeepTogether(out[-2:])]
    return out


class _NumberedCanvas(rl_canvas.Canvas):
    """Writes "Page n of m" once the page count is known (one pass, not two builds)."""

    footer_text = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        for name in (REGULAR, BOLD):
            pdfmetrics.getFont(name).prime(self._doc)

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._footer(total)
            super().showPage()
        super().save()

    def _footer(self, total: int) -> None:
        self.saveState()
        self.setFont(REGULAR, 8)
        self.setFillColor(colors.HexColor("#4a5562"))
        self.drawString(MARGIN, 0.55 * inch, self.footer_text)
        self.drawRightString(PAGE_W - MARGIN, 0.55 * inch, f"Page {self._pageNumber} of {total}")
        self.restoreState()


def _letterhead(lines: tuple[str, ...]) -> Any:
    def draw(canv: Any, _doc: Any) -> None:
        canv.saveState()
        canv.setFillColor(colors.HexColor("#1f3a5f"))
        canv.rect(MARGIN, PAGE_H - 0.62 * inch, 0.08 * inch, 0.42 * inch, stroke=0, fill=1)
        canv.setFont(BOLD, 13)
        canv.drawString(MARGIN + 0.18 * inch, PAGE_H - 0.42 * inch, lines[0])
        canv.setFillColor(colors.HexColor("#4a5562"))
        canv.setFont(REGULAR, 8)
        y = PAGE_H - 0.58 * inch
        for line in lines[1:]:
            canv.drawString(MARGIN + 0.18 * inch, y, line)
            y -= 10
        canv.setStrokeColor(colors.HexColor("#1f3a5f"))
        canv.setLineWidth(0.75)
        canv.line(MARGIN, PAGE_H - 1.05 * inch, PAGE_W - MARGIN, PAGE_H - 1.05 * inch)
        canv.restoreState()

    return draw


@lru_cache(maxsize=64)
def _page_template(letterhead: tuple[str, ...]) -> PageTemplate:
    frame = Frame(MARGIN, 0.85 * inch, TEXT_W, PAGE_H - TOP - 0.85 * inch, id="body", leftPadding=0, rightPadding=0)
    return PageTemplate(id="letter", frames=[frame], onPage=_letterhead(letterhead))


def render(doc: d.Document, *, author: str = "", subject: str = "") -> bytes:
    """The letter as PDF bytes."""
    register_fonts()
    buf = io.BytesIO()
    template = BaseDocTemplate(
        buf,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP,
        bottomMargin=0.85 * inch,
        title=doc.title,
        author=author,
        subject=subject,
        creator="WISeR letters",
        producer="WISeR letters (reportlab)",
        lang=doc.lang,
        invariant=1,
        pageCompression=1,
        displayDocTitle=1,
    )
    template.addPageTemplates([_page_template(doc.letterhead)])

    class Canvas(_NumberedCanvas):
        footer_text = doc.footer

    template.build(flowables(doc), canvasmaker=Canvas)
    return buf.getvalue()
