"""Charts of segmentation, drawn server-side as SVG (no script, nothing loaded from elsewhere).

Colours are SVG presentation attributes, not styles: the site's Content-Security-Policy forbids inline styles.
"""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
)  # fmt: skip


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


Svg = SafeString  # rendered as is: every value in a chart was escaped when it was drawn


def _svg(width: int, height: int, body: list[str], label: str) -> Svg:
    return mark_safe(  # noqa: S308 - built from escaped values and numbers only
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width * 1.5:.0f}" '
        f'class="chart" role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>"
    )


def _scale(values: list[float], low: float, high: float) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    return lo, (high - low) / (hi - lo)


def k_curve(curve: list[dict], chosen: int | None) -> Svg:
    """Silhouette of each k (a line), the chosen k marked, with axis values."""
    rows = [row for row in curve if row.get("silhouette") is not None]
    if not rows:
        return _svg(10, 10, [], "no curve")
    width, height, left, bottom, top, right = 520, 220, 50, 30, 15, 15
    ks = [row["k"] for row in rows]
    values = [row["silhouette"] for row in rows]
    k_lo, k_scale = _scale(ks, left, width - right)
    v_lo, v_scale = _scale(values, bottom, height - top)

    def x(k: float) -> float:
        return left + (k - k_lo) * k_scale

    def y(v: float) -> float:
        return height - bottom - (v - v_lo) * v_scale

    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>',
        '<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="'
        + " ".join(f"{x(k):.1f},{y(v):.1f}" for k, v in zip(ks, values, strict=True))
        + '"/>',
    ]
    for k, v in zip(ks, values, strict=True):
        fill = "#d62728" if k == chosen else "#1f77b4"
        body.append(f'<circle cx="{x(k):.1f}" cy="{y(v):.1f}" r="{5 if k == chosen else 3}" fill="{fill}"/>')
        body.append(f'<text x="{x(k):.1f}" y="{height - bottom + 16}" font-size="11" text-anchor="middle">{k}</text>')
    for v in (min(values), max(values)):
        body.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.2f}</text>')
    body.append(f'<text x="{(left + width) / 2}" y="{height - 2}" font-size="11" text-anchor="middle">k</text>')
    return _svg(width, height, body, "silhouette by number of segments")


def scatter(points: list[list], segment_index: dict[int, int]) -> Svg:
    """Sampled customers on the first two principal axes, coloured by segment."""
    if not points:
        return _svg(10, 10, [], "no points")
    size = 360
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_lo, x_scale = _scale(xs, 10, size - 10)
    y_lo, y_scale = _scale(ys, 10, size - 10)
    body = [
        f'<circle cx="{10 + (px - x_lo) * x_scale:.1f}" cy="{size - 10 - (py - y_lo) * y_scale:.1f}" r="2" '
        f'fill="{colour(segment_index.get(segment, 0))}" fill-opacity="0.6"/>'
        for px, py, segment in points
    ]
    return _svg(size, size, body, "customers on the first two principal components, by segment")


def heatmap(rows: list[tuple[str, dict[str, float]]], columns: list[tuple[str, str]]) -> Svg:
    """Segments (rows) × features (columns): the standardised difference from the population, blue low, red high."""
    if not rows or not columns:
        return _svg(10, 10, [], "no heatmap")
    cell, left, top = 22, 220, 150
    # the column labels lean right of their column: room for the last one's
    width, height = left + cell * len(columns) + 90, top + cell * len(rows) + 10
    body = []
    for j, (_, label) in enumerate(columns):
        x = left + j * cell + cell / 2
        body.append(
            f'<text x="{x:.1f}" y="{top - 6}" font-size="10" transform="rotate(-60 {x:.1f} {top - 6})">'
            f"{escape(label[:34])}</text>"
        )
    for i, (name, values) in enumerate(rows):
        y = top + i * cell
        body.append(f'<text x="{left - 6}" y="{y + 15}" font-size="11" text-anchor="end">{escape(name[:32])}</text>')
        for j, (key, label) in enumerate(columns):
            z = max(-2.0, min(2.0, values.get(key, 0.0)))
            red, blue = (255, int(255 - 110 * z)) if z > 0 else (int(255 + 110 * z), 255)
            fill = f"#{red:02x}{min(red, blue):02x}{blue:02x}"
            body.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                f"<title>{escape(name)} · {escape(label)}: {values.get(key, 0.0):+.2f} sd</title></rect>"
            )
    return _svg(width, height, body, "segments by feature")


def steps(history: list[tuple[str, int]]) -> Svg:
    """A segment's size over time (a step line), dates on the axis."""
    if not history:
        return _svg(10, 10, [], "no history")
    width, height, left, bottom = 520, 160, 60, 30
    sizes = [size for _, size in history] + [0]
    top_size = max(sizes) or 1
    n = len(history)

    def x(i: int) -> float:
        return left + (width - left - 10) * (i / max(n - 1, 1))

    def y(size: int) -> float:
        return height - bottom - (height - bottom - 10) * size / top_size

    points = " ".join(f"{x(i):.1f},{y(size):.1f}" for i, (_, size) in enumerate(history))
    body = [
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points}"/>',
        f'<text x="{left - 6}" y="{y(top_size) + 4:.1f}" font-size="11" text-anchor="end">{top_size}</text>',
        f'<text x="{left - 6}" y="{y(0) + 4:.1f}" font-size="11" text-anchor="end">0</text>',
        f'<text x="{x(0):.1f}" y="{height - 8}" font-size="11">{escape(history[0][0])}</text>',
        f'<text x="{x(n - 1):.1f}" y="{height - 8}" font-size="11" text-anchor="end">{escape(history[-1][0])}</text>',
    ]
    return _svg(width, height, body, "segment size over time")
