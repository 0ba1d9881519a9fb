"""Bar charts as server-rendered SVG: no charting library, no JavaScript, no CDN."""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup, escape

from ..store.accounts import DayCount

WIDTH, HEIGHT = 900, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 26


def _nice_max(value: int) -> int:
    """A round axis top whose quarters are whole numbers."""
    if value <= 4:
        return 4
    if value <= 20:
        return -(-value // 4) * 4
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def bar_chart(series: list[DayCount], start: date, end: date, *, label: str) -> Markup:
    """One bar per day from ``start`` to ``end`` (missing days are zero), with a y grid."""
    counts = {d.day: d.count for d in series}
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    values = [counts.get(d, 0) or 0 for d in days]
    top = _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(days))
    bar_w = max(1.0, step * 0.75)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(5):
        v = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    for i, (d, v) in enumerate(zip(days, values, strict=True)):
        h = plot_h * v / top if top else 0
        x = LEFT + i * step + (step - bar_w) / 2
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}"><title>{d.isoformat()}: {v:,}</title></rect>'
        )
    tick_every = max(1, len(days) // 6)
    for i in range(0, len(days), tick_every):
        x = LEFT + i * step + step / 2
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{days[i].strftime("%b %-d")}</text>'
        )
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
