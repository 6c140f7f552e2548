"""data/overlays.json as typed, frozen data, validated on load: the names, colours, sizes and wording of
what EMHAssist draws into a Slicer scene (overlays.py) and how its labels are laid out (label_layout.py).

It lives beside the two modules that read it rather than in settings.py: it is the outputs' style, not
an engine setting, and no stage before the outputs depends on it. A wrong key or value is refused with
an `InputError` naming the file and the key, by the same reader as the engine's settings.
"""

import functools
from dataclasses import dataclass

from ..knowledge import load
from ..settings import SCREEN_PX_MAX, count, distance, format_version, fraction, multiple, parse, positive, within

Colour = tuple[float, float, float]  # red, green, blue, each from 0 to 1


@dataclass(frozen=True)
class SegmentLook:
    name: str
    color: Colour = fraction()


@dataclass(frozen=True)
class SegmentsStyle:
    """The cord and mass outlines."""

    node: str  # "{case}" is filled
    fill_opacity_2d: float = fraction()
    outline_thickness_px: int = positive(SCREEN_PX_MAX)
    regions: dict[str, SegmentLook]


@dataclass(frozen=True)
class LevelsStyle:
    """The vertebral level points; a compressed level's label carries its MSCC and Bilsky grade."""

    node: str
    color: Colour = fraction()
    compressed_color: Colour = fraction()
    label: str  # "{level}"
    compressed_label: str  # "{level}", "{mscc}"
    graded_label: str  # "{label}", "{grade}"
    glyph_scale: float = multiple()
    text_scale: float = multiple()


@dataclass(frozen=True)
class MassExtentStyle:
    """The head-foot bracket behind each span of the mass."""

    node: str  # "{span}", "{case}"
    label: str  # "{span}"
    color: Colour = fraction()
    margin_mm: float = distance()
    text_scale: float = multiple()


@dataclass(frozen=True)
class DifferentialStyle:
    """The label behind the mass: the top diagnoses, the first one's key finding and the caveat."""

    node: str
    color: Colour = fraction()
    top: int = count()
    diagnosis: str  # "{name}", "{percent}"
    key_finding: str  # "{finding}"
    caveat: str
    wrap_chars: int = positive(SCREEN_PX_MAX)
    clear_of_mass_mm: float = distance()
    reach_from_mass_mm: float = distance()
    text_scale: float = multiple()


@dataclass(frozen=True)
class ExplanationStyle:
    """The text node holding the whole reading."""

    node: str
    title: str  # "{case}"
    levels: str  # "{summary}"
    differential_heading: str
    diagnosis: str  # "{rank}", "{name}", "{percent}"
    supports: str
    opposes: str
    next_best: str  # "{text}"
    warnings_heading: str


@dataclass(frozen=True)
class LayoutStyle:
    """How labels are placed per slice view (label_layout.py); the JSON's `reason` says why each is so."""

    step_px: int = positive(SCREEN_PX_MAX)
    reach_px: int = positive(SCREEN_PX_MAX)
    gap_px: int = within(0, SCREEN_PX_MAX)
    text_margin_px: int = within(0, SCREEN_PX_MAX)
    point_clear_px: int = within(0, SCREEN_PX_MAX)
    handle_clear_px: int = within(0, SCREEN_PX_MAX)
    leader_from_px: int = within(0, SCREEN_PX_MAX)
    text_glyph_scale: float = multiple()
    leader_line_thickness: float = multiple()
    font_points_per_text_scale: float = positive(SCREEN_PX_MAX)
    kept_clear_segments: tuple[str, ...]


@dataclass(frozen=True)
class LabelBackground:
    background_color: Colour = fraction()
    background_opacity: float = fraction()


@dataclass(frozen=True)
class OverlayStyle:
    """data/overlays.json."""

    version: int = format_version()
    folder: str  # "{case}"
    segments: SegmentsStyle
    levels: LevelsStyle
    mass_extent: MassExtentStyle
    differential: DifferentialStyle
    explanation: ExplanationStyle
    layout: LayoutStyle
    labels: LabelBackground


@functools.cache
def overlay_style() -> OverlayStyle:
    return parse(OverlayStyle, load("overlays"), "overlays")
