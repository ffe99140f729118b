"""The PDF report for a period (reportlab): the same tables as the API, with bar charts whose bars carry
their values (readable in black and white)."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .reading import as_rows

GREYS = [colors.HexColor(c) for c in ("#1f3b57", "#6f8fae", "#b9c9d8", "#444444")]
MAX_ROWS = 40


def bar_chart(
    title: str, labels: list[str], series: list[list[float]], names: list[str], width: float = 250 * mm
) -> Drawing:
    d = Drawing(width, 75 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 15 * mm, width - 25 * mm, 48 * mm
    chart.data = series or [[0]]
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 30 if len(labels) > 8 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 8 else "n"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.barLabelFormat = "%d"
    chart.barLabels.fontSize = 5
    chart.barLabels.nudge = 4
    for i in range(len(chart.data)):
        chart.bars[i].fillColor = GREYS[i % len(GREYS)]
    d.add(chart)
    d.add(String(15 * mm, 70 * mm, title, fontSize=10))
    if names:
        legend = "   ".join(f"{'■▨□▪'[i % 4]} {n}" for i, n in enumerate(names))
        d.add(String(15 * mm, 65 * mm, f"Series (left to right in each group): {legend}", fontSize=7))
    return d


def table(rows: list[dict[str, Any]], limit: int = MAX_ROWS) -> Table | Paragraph:
    styles = getSampleStyleSheet()
    if not rows:
        return Paragraph("No data in this period.", styles["Normal"])
    head = list(rows[0])
    body = [[("" if r[k] is None else str(r[k])) for k in head] for r in rows[:limit]]
    t = Table([head, *body], repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 7),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("GRID", (0, 0), (-1, -1), 0.2, colors.grey),
            ]
        )
    )
    return t


def render_report(data: dict[str, Any], start: date, end: date, now: datetime) -> bytes:
    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        title=f"WISeR analytics {start} to {end}",
        author="WISeR analytics",
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
    )
    h1, h2, p = styles["Title"], styles["Heading2"], styles["Normal"]
    story: list[Any] = [
        Paragraph(f"WISeR analytics report: {start} to {end}", h1),
        Paragraph(
            f"Generated {now:%Y-%m-%d %H:%M} UTC. Days are calendar days in each packet's state-of-service time "
            "zone; time to decision runs from receipt to the decision; a median of an even count is the mean of "
            "the two middle values; met = determined by due_at.",
            p,
        ),
        Spacer(1, 4 * mm),
    ]
    status = data["status"]
    story += [
        Paragraph("Packets per state now", h2),
        bar_chart("Packets per state", list(status), [list(status.values())], []),
    ]
    story += [Paragraph("Aging (age since received)", h2), table(as_rows("aging", data["aging"]))]
    story += [PageBreak(), Paragraph("CMS-0057-F style metrics", h2), table(as_rows("cms", data["cms"]))]
    story += [Paragraph("SLA compliance", h2), table(as_rows("sla", data["sla"]))]
    days = data["throughput"]
    story += [
        PageBreak(),
        Paragraph("Throughput per day", h2),
        bar_chart(
            "Received and determined per day",
            [d["day"][5:] for d in days],
            [[d["received"] for d in days], [d["determined"] for d in days]],
            ["received", "determined"],
        ),
    ]
    bins = data["turnaround"]
    story += [
        Paragraph("Time to decision", h2),
        bar_chart(
            "Determinations by hours from receipt",
            [b["bin"] for b in bins],
            [[b["standard"] for b in bins], [b["expedited"] for b in bins]],
            ["standard", "expedited"],
        ),
    ]
    story += [PageBreak(), Paragraph("Reviewer productivity", h2), table(as_rows("reviewers", data["reviewers"]))]
    story += [Paragraph("Outcomes per service and state", h2), table(as_rows("outcomes", data["outcomes"]))]
    story += [PageBreak(), Paragraph("Dismissal reasons", h2), table(as_rows("dismissals", data["dismissals"]))]
    story += [Paragraph("Channel mix", h2), table(as_rows("channels", data["channels"]))]
    story += [Paragraph("Gold-card candidates", h2), table(as_rows("gold-card", data["gold-card"]))]
    doc.build(story)
    return buf.getvalue()
