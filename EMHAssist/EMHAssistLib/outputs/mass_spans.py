"""Which span of a mass's extent each of its points belongs to, and which span leads: a mass
mid-thoracic and again at the sacrum is drawn (overlays.py) and pictured (key_images.py) as two.
Reads the typed levels section (report_model.py)."""

import numpy as np

from ..report_model import CordCompression, Extent, LevelVertebra
from ..spine.vertebrae import code_of
from .wording import spans_of


def span_of_points(points_world: np.ndarray, extent: Extent, vertebrae: tuple[LevelVertebra, ...]) -> np.ndarray:
    """Index into the extent's spans of each world point: the span nearest, in levels, to the level
    of the point's nearest body centre, so the mass's tips in a level too little involved to be
    named go to the span beside them."""
    spans = spans_of(extent)
    points = np.asarray(points_world, dtype=float).reshape(-1, 3)
    if len(spans) == 1 or not vertebrae:
        return np.zeros(len(points), dtype=int)
    centres = np.array([vertebra.centre for vertebra in vertebrae], dtype=float)
    level_codes = np.array([vertebra.code for vertebra in vertebrae])
    squared = (centres**2).sum(axis=1) - 2 * points @ centres.T  # distance squared less |point|^2
    nearest = level_codes[np.argmin(squared, axis=1)]
    first = np.array([code_of(span.from_) for span in spans])
    last = np.array([code_of(span.to) for span in spans])
    away = np.maximum(first - nearest[:, None], 0) + np.maximum(nearest[:, None] - last, 0)
    return np.argmin(away, axis=1)


def leading_span(extent: Extent, compression: CordCompression | None, owner: np.ndarray) -> int:
    """Index of the span of a mass's extent that its views and its differential label go to: the
    span holding the most compressed level, else the one holding most of the mass. `owner`: the
    span of each of the mass's points (`span_of_points`); a span holding none of them never leads."""
    spans = spans_of(extent)
    worst = code_of(compression.at) if compression and compression.at else None
    held = np.bincount(owner, minlength=len(spans))

    def rank(n: int) -> tuple[bool, bool, int]:
        compressed = worst is not None and code_of(spans[n].from_) <= worst <= code_of(spans[n].to)
        return bool(held[n]), compressed, int(held[n])

    return max(range(len(spans)), key=rank)
