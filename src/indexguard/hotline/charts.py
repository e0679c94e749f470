"""Small inline SVG charts, drawn on the server: no script, no external file, readable without colour.

Every chart is an `<svg role="img">` with an `aria-label` and a `<title>` stating the figures, so
a screen reader (and a text-only mail client) gets the numbers the bars show. All text is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

Fmt = Callable[[float], str]
MAX_BARS = 40
_FONT = 'font-family="sans-serif"'


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _empty(title: str, width: int) -> Markup:
    return Markup(
        '<svg role="img" aria-label="{t}: no data" viewBox="0 0 {w} 28" width="{w}" height="28">'
        '<title>{t}: no data</title><text x="4" y="18" font-size="12" {f}>{t}: no data</text></svg>'
    ).format(t=title, w=width, f=Markup(_FONT))


def bar_chart(
    rows: Sequence[tuple[str, float | None]], title: str, fmt: Fmt = _num, width: int = 480, bar: int = 18
) -> Markup:
    """Horizontal bars, one per (label, value), value printed at the bar's end. None: not measured."""
    rows = list(rows)[:MAX_BARS]
    values = [v for _, v in rows if v is not None]
    if not rows or not values:
        return _empty(title, width)
    vmax = max(values) or 1.0
    label_w, top, gap = 150, 22, 6
    plot_w = width - label_w - 70
    height = top + len(rows) * (bar + gap) + 4
    summary = "; ".join(f"{name}: {'n/a' if v is None else fmt(v)}" for name, v in rows)
    out = [
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" {_FONT}>',
        f"<title>{escape(title)}: {escape(summary)}</title>",
        f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (name, v) in enumerate(rows):
        y = top + i * (bar + gap)
        w = 0.0 if v is None else max(1.0, plot_w * v / vmax)
        shown = "n/a" if v is None else fmt(v)
        out += [
            f'<text x="{label_w - 6}" y="{y + bar - 5}" font-size="12" text-anchor="end">{escape(_clip(name))}</text>',
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" fill="#4a6fa5"/>',
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 5}" font-size="12">{escape(shown)}</text>',
        ]
    out.append("</svg>")
    return Markup("".join(out))


def column_chart(
    labels: Sequence[str], values: Sequence[int], title: str, width: int = 640, height: int = 160
) -> Markup:
    """One column per label (the days of a month), the axis labelled at its first and last label."""
    if not labels or not any(values):
        return _empty(title, width)
    n, vmax = len(labels), max(values) or 1
    left, top, bottom = 40, 22, 20
    plot_w, plot_h = width - left - 6, height - top - bottom
    step = plot_w / n
    summary = ", ".join(f"{lab}: {v}" for lab, v in zip(labels, values, strict=True) if v)
    out = [
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" {_FONT}>',
        f"<title>{escape(title)}: {escape(summary)}</title>",
        f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)} (max {vmax:,})</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 10}" font-size="10" text-anchor="end">{vmax:,}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, v in enumerate(values):
        h = plot_h * v / vmax
        out.append(
            f'<rect x="{left + i * step + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="#4a6fa5"><title>{escape(labels[i])}: {v}</title></rect>'
        )
    out += [
        f'<text x="{left}" y="{height - 5}" font-size="10">{escape(labels[0])}</text>',
        f'<text x="{width - 6}" y="{height - 5}" font-size="10" text-anchor="end">{escape(labels[-1])}</text>',
        "</svg>",
    ]
    return Markup("".join(out))


def _clip(text: str, n: int = 24) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
