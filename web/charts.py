"""Horizontal bar charts drawn on the server as SVG: the geometry is computed here, `officer/stats/_chart.html` writes
the elements. Each bar has its label above it (long names fit a phone) and its value in words after it, so a
chart never relies on colour alone; a target draws as a dashed line, and a bar that misses it says so in words.

The SVG scales with the page (a fixed viewBox), so every size below is in viewBox units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 400
ROW = 50  # one bar: its label line, then the bar
TOP = 28  # room for the target's label
LABEL_CHARS = 48
VALUE_ROOM = 150  # right of the longest bar, for its value in words


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no data (drawn as an empty bar with its text)
    text: str  # the value as the page writes it, with "missed" if it misses the target
    missed: bool = False


@dataclass(frozen=True)
class PlacedBar:
    label: str  # shortened to fit the drawing
    full_label: str  # for the data table beside it
    text: str
    missed: bool
    label_y: float
    bar_y: float
    length: float
    text_x: float


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    bar_height: int
    bars: tuple[PlacedBar, ...]
    target_x: float | None
    target_text: str

    @property
    def labelled_by(self) -> str:
        return f"{self.id}-title {self.id}-desc"


def bar_chart(
    id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    target: float | None = None,
    target_text: str = "",
    maximum: float | None = None,
) -> BarChart:
    """Bars scaled so `maximum` (a share's 100%), else the longest value or the target if further, spans the room
    left for bars."""
    room = WIDTH - VALUE_ROOM
    values = [bar.value for bar in bars if bar.value is not None]
    top_value = maximum or max([*values, target or 0.0, 0.0])
    scale = room / top_value if top_value > 0 else 0.0
    top = TOP if target is not None else 8
    placed = []
    for index, bar in enumerate(bars):
        y = top + index * ROW
        length = round((bar.value or 0.0) * scale, 1)
        placed.append(
            PlacedBar(
                label=_shorten(bar.label),
                full_label=bar.label,
                text=bar.text,
                missed=bar.missed,
                label_y=y + 16,
                bar_y=y + 22,
                length=max(length, 1.0) if bar.value else 0.0,
                text_x=length + 6,
            )
        )
    return BarChart(
        id=id,
        title=title,
        description=description,
        width=WIDTH,
        height=top + len(bars) * ROW + 4,
        bar_height=18,
        bars=tuple(placed),
        target_x=round(target * scale, 1) if target is not None and scale else None,
        target_text=target_text,
    )


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"
