"""Small SVG chart helpers for the HTML report: text-safe elements, scales, legends."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

__all__ = ["Svg", "legend", "nice_max"]


def _attrs(values: dict[str, object]) -> str:
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = f"{value:.1f}"
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{escape(str(value))}"')
    return " ".join(parts)


class Svg:
    """An SVG drawing built element by element; ``str()`` gives the markup.

    Args:
        width: The viewBox width (the drawing scales to its container).
        height: The viewBox height.
        label: The accessible name of the chart.
        chart: The chart's name, written as ``data-chart`` (tests find charts by it).
    """

    def __init__(self, width: int, height: int, *, label: str, chart: str) -> None:
        self.width = width
        self.height = height
        self.label = label
        self.chart = chart
        self.parts: list[str] = []

    def rect(
        self, x: float, y: float, w: float, h: float, *, tip: str | None = None, **extra: object
    ) -> None:
        """Add a rectangle, with a hover tooltip when ``tip`` is given."""
        body = f"<title>{escape(tip)}</title>" if tip else ""
        attributes = _attrs({"x": x, "y": y, "width": max(w, 0.0), "height": max(h, 0.0), **extra})
        self.parts.append(f"<rect {attributes}>{body}</rect>")

    def line(self, x1: float, y1: float, x2: float, y2: float, **extra: object) -> None:
        """Add a line."""
        self.parts.append(f"<line {_attrs({'x1': x1, 'y1': y1, 'x2': x2, 'y2': y2, **extra})}/>")

    def text(self, x: float, y: float, content: str, **extra: object) -> None:
        """Add a text label."""
        self.parts.append(f"<text {_attrs({'x': x, 'y': y, **extra})}>{escape(content)}</text>")

    def path(self, d: str, **extra: object) -> None:
        """Add a path."""
        self.parts.append(f"<path {_attrs({'d': d, **extra})}/>")

    def raw(self, markup: str) -> None:
        """Add markup as it is (already escaped)."""
        self.parts.append(markup)

    def __str__(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'role="img" aria-label="{escape(self.label)}" data-chart="{escape(self.chart)}" '
            f'class="chart-svg" preserveAspectRatio="xMinYMin meet">'
            + "".join(self.parts)
            + "</svg>"
        )


def nice_max(value: float) -> int:
    """A round upper bound for an axis (at least 1)."""
    if value <= 5:
        return max(1, int(value))
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value <= step * 5:
            return int(-(-value // step) * step)
    return int(value)


def legend(items: Sequence[tuple[str, str]] | Iterable[tuple[str, str]]) -> str:
    """An HTML legend: one coloured swatch and label per (label, colour)."""
    entries = "".join(
        f'<span class="key"><i style="background:{escape(colour)}"></i>{escape(label)}</span>'
        for label, colour in items
    )
    return f'<div class="legend">{entries}</div>'
