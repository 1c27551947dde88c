"""Small charts as inline SVG, drawn here (no browser, no JavaScript): WeasyPrint lays them out like images.

Sizes are in millimetres of the printed page (the SVG's viewBox uses the same units), strokes are thin and
colours match the stylesheet. Every function returns markup that is safe to insert (only numbers and the
escaped labels go in).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

ACCENT = "#0f4c5c"
PREVIOUS = "#b8c7cd"
GRID = "#dde4e7"
TEXT = "#5b6770"
GOOD = "#2d6a4f"
BAD = "#9b2226"


def _svg(width: float, height: float, body: str, label: str) -> Markup:
    # Safe: the markup is built here from numbers, fixed colours and labels escaped on the way in.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">{body}</svg>'
    )


def _scale(values: Sequence[float], low: float, high: float) -> tuple[float, float]:
    """(minimum, span) of the values for mapping onto [low, high]; a flat series sits in the middle."""
    lo, hi = min(values), max(values)
    if hi == lo:
        return lo - 1, 2.0
    return lo, hi - lo


def sparkline(
    values: Sequence[float | None], *, width: float = 28, height: float = 7, label: str = "", up_is_good: bool = True
) -> Markup:
    """A trend line over the points that are known, the last point marked and coloured by its direction."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(values) < 2 or not known:
        return _svg(width, height, "", label)
    pad = 1.0
    lo, span = _scale([v for _, v in known], pad, height - pad)
    step = (width - 2 * pad) / (len(values) - 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return pad + i * step, height - pad - (v - lo) / span * (height - 2 * pad)

    path = " ".join(f"{x:.2f},{y:.2f}" for x, y in (point(i, v) for i, v in known))
    body = f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="0.35" stroke-linejoin="round"/>'
    if len(known) >= 2:
        rising = known[-1][1] > known[-2][1]
        falling = known[-1][1] < known[-2][1]
        colour = GOOD if (rising and up_is_good) or (falling and not up_is_good) else BAD if rising or falling else TEXT
    else:
        colour = ACCENT
    x, y = point(*known[-1])
    body += f'<circle cx="{x:.2f}" cy="{y:.2f}" r="0.7" fill="{colour}"/>'
    return _svg(width, height, body, label)


def paired_bars(
    current: Sequence[float],
    previous: Sequence[float],
    labels: Sequence[str],
    *,
    width: float = 56,
    height: float = 22,
    label: str = "",
) -> Markup:
    """Day-by-day bars of this period (dark) next to the same day of the previous one (light), with day labels."""
    count = max(len(current), len(previous), 1)
    top = max([*current, *previous, 0.0]) or 1.0
    axis = 3.2  # room for the day labels
    plot = height - axis - 0.5
    slot = width / count
    bar = slot * 0.34
    parts = [f'<line x1="0" y1="{plot:.2f}" x2="{width}" y2="{plot:.2f}" stroke="{GRID}" stroke-width="0.25"/>']
    for i in range(count):
        x = i * slot + slot / 2
        for offset, series, colour in ((-bar, previous, PREVIOUS), (0.0, current, ACCENT)):
            if i < len(series) and series[i] > 0:
                h = series[i] / top * (plot - 0.5)
                parts.append(
                    f'<rect x="{x + offset:.2f}" y="{plot - h:.2f}" width="{bar:.2f}" height="{h:.2f}" fill="{colour}"/>'
                )
        if i < len(labels):
            parts.append(
                f'<text x="{x:.2f}" y="{height - 0.6:.2f}" font-size="2.3" text-anchor="middle" fill="{TEXT}" '
                f'font-family="DejaVu Sans">{escape(labels[i])}</text>'
            )
    return _svg(width, height, "".join(parts), label)


def column_chart(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    width: float = 178,
    height: float = 30,
    label: str = "",
    every: int = 1,
) -> Markup:
    """One column per value (e.g. kits per day of a month) with its value on top, a faint grid at quarters of
    the maximum, and a label under every `every`-th column."""
    count = max(len(values), 1)
    top = max([*values, 0.0]) or 1.0
    axis = 3.2
    plot = height - axis - 0.5
    headroom = 2.6  # for the value printed above the tallest column
    slot = width / count
    parts = []
    for quarter in (0.25, 0.5, 0.75, 1.0):
        y = plot - quarter * (plot - headroom)
        parts.append(f'<line x1="0" y1="{y:.2f}" x2="{width}" y2="{y:.2f}" stroke="{GRID}" stroke-width="0.2"/>')
    parts.append(f'<line x1="0" y1="{plot:.2f}" x2="{width}" y2="{plot:.2f}" stroke="{TEXT}" stroke-width="0.25"/>')
    for i, value in enumerate(values):
        x = i * slot
        if value > 0:
            h = value / top * (plot - headroom)
            parts.append(
                f'<rect x="{x + slot * 0.15:.2f}" y="{plot - h:.2f}" width="{slot * 0.7:.2f}" height="{h:.2f}" '
                f'fill="{ACCENT}"/>'
            )
            parts.append(
                f'<text x="{x + slot / 2:.2f}" y="{plot - h - 0.6:.2f}" font-size="1.9" text-anchor="middle" '
                f'fill="{TEXT}" font-family="DejaVu Sans">{value:g}</text>'
            )
        if i < len(labels) and i % every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.2f}" y="{height - 0.6:.2f}" font-size="2.3" text-anchor="middle" '
                f'fill="{TEXT}" font-family="DejaVu Sans">{escape(labels[i])}</text>'
            )
    return _svg(width, height, "".join(parts), label)
