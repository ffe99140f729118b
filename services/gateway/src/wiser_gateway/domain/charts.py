"""Charts as SVG, drawn on the server (our own origin, no script, no inline style: CSP-safe).

Readable without colour: every bar carries its value as text, series differ by pattern (solid, hatched,
dotted) as well as by shade, and each chart has a title, a text legend and a `<desc>` for screen readers."""

from __future__ import annotations

from html import escape

PATTERNS = ("solid", "hatch", "dots")
SHADES = ("#1f3b57", "#4f7396", "#8aa7c2")


def _defs() -> str:
    return (
        "<defs>"
        f'<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="{SHADES[1]}" '
        'stroke-width="3"/></pattern>'
        '<pattern id="dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="#ffffff"/><circle cx="2.5" cy="2.5" r="1.5" fill="{SHADES[2]}"/></pattern>'
        "</defs>"
    )


def _fill(i: int) -> str:
    kind = PATTERNS[i % len(PATTERNS)]
    return SHADES[0] if kind == "solid" else f"url(#{kind})"


TITLE_CHAR_PX = 7.8  # a character of the 13px bold title, roughly


def bar_chart(
    title: str,
    labels: list[str],
    series: list[tuple[str, list[float]]],
    *,
    width: int = 760,
    height: int = 260,
    unit: str = "",
) -> str:
    """Grouped vertical bars: one group per label, one bar per series, each bar labelled with its value."""
    top, bottom, left, right = 34, 46, 44, 10
    # The legend follows the title on its line, or goes on a line of its own when the title leaves no room
    # (widths estimated: about 0.6 em a character).
    legend = [(name, 24 + 7 * len(name)) for name, _ in series]
    lx, ly = left + max(260, round(len(title) * TITLE_CHAR_PX) + 16), 6
    if lx + sum(w for _, w in legend) > width - right:
        lx, ly = left, 24
        top += 18
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs]
    vmax = max([*values, 1])
    n = max(len(labels), 1)
    group_w = plot_w / n
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{name} {vs[i]:g}{unit}" for name, vs in series) for i, label in enumerate(labels)
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="t-{abs(hash(title))}" class="chart">',
        f'<title id="t-{abs(hash(title))}">{escape(title)}</title><desc>{escape(desc)}</desc>',
        _defs(),
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (name, w) in enumerate(legend):
        out.append(
            f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{_fill(i)}" stroke="#000" stroke-width="0.5"/>'
            f'<text x="{lx + 16}" y="{ly + 10}" font-size="11">{escape(name)}</text>'
        )
        lx += w
    out.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#000"/>'
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{vmax:g}</text>'
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>'
    )
    for i, label in enumerate(labels):
        gx = left + i * group_w + group_w * 0.1
        for j, (_, vs) in enumerate(series):
            v = vs[i] if i < len(vs) else 0
            h = plot_h * v / vmax
            x, y = gx + j * bar_w, top + plot_h - h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{_fill(j)}" '
                'stroke="#000" stroke-width="0.5"/>'
            )
            if n * len(series) <= 60:
                out.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle">{v:g}</text>'
                )
        if n <= 16 or i % max(n // 12, 1) == 0:
            out.append(
                f'<text x="{gx + group_w * 0.4:.1f}" y="{top + plot_h + 14}" font-size="10" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    out.append("</svg>")
    return "".join(out)
