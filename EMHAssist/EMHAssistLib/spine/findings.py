"""What the spine stage reports beside its levels section, typed: a code and what the finding names
(the levels it concerns, the level points' labels, the input error that stopped a step, the level
detection's own finding). outputs/wording.py states each in the words of data/wording.json, so the
stage that measures never writes the sentence a reader sees (issue 16, point 3: report wording in
the outputs)."""

from dataclasses import dataclass
from enum import Enum

from ..errors import InputError
from ..report_model import CordCompression, Extent, NotAssessed


class WalkStopReason(Enum):
    """Why a walk of the level detection (spine/levels.py) stopped; each a key of data/wording.json's `walk_stops`."""

    NO_REPEAT = "no_repeat"  # the image along the spine shows no vertebral repeat near the body it started from
    UNIFORM = "uniform"  # the image along the spine is uniform near it
    FUSED = "fused"  # the sacral segments are fused, their discs vestigial
    EXTRAPOLATED = "extrapolated"  # the line farther on lies more than `extrapolation_mm` beyond the cord and the points
    NO_DISC = "no_disc"  # no disc beyond the last body stands out


@dataclass(frozen=True)
class WalkStop:
    """Why a walk stopped, and where: `direction` -1 superior, +1 inferior; `start` the body it walked from."""

    reason: WalkStopReason
    direction: int
    start: str
    extrapolation_mm: float | None = None  # the limit it stopped at (EXTRAPOLATED)


class LevelFindingCode(Enum):
    """What the level detection found doubtful; each a key of data/wording.json's `level_findings`
    (WALK_STOPPED by its stop's reason, in `walk_stopped`)."""

    WALK_STOPPED = "walk_stopped"  # the walk stopped where the image goes on (the line untrusted, the sacrum fused)
    LEVELS_MISSED = "levels_missed"  # levels the field of view holds were not found beyond `after`
    ONE_VERTEBRA = "one_vertebra"  # only one vertebra placed: its boundaries assume a typical height


@dataclass(frozen=True)
class LevelFinding:
    code: LevelFindingCode
    stop: WalkStop | None = None
    after: str | None = None  # the last body placed that way
    missing: tuple[str, ...] = ()  # the levels not found, outward from `after`


class SpineFindingCode(Enum):
    """Each code is a key of data/wording.json's `spine_findings`."""

    NO_T2_SEQUENCE = "no_t2_sequence"
    CORD_FOUND_BEHIND_POINTS = "cord_found_behind_points"  # label: the level points' labels
    NO_CORD = "no_cord"  # error: why the cord could not be traced
    NO_CORD_FOUND = "no_cord_found"  # no cord region, and none found behind the level points
    LEVELS_FAILED = "levels_failed"  # error: the input error that stopped the step
    NO_LEVEL_POINTS = "no_level_points"
    NO_MASS_REGION = "no_mass_region"
    COMPRESSION_NOT_ASSESSED = "compression_not_assessed"  # not_assessed: the section's levels (None: no levels) and reason
    READ_ON_MASS_SECTIONS = "read_on_mass_sections"  # levels: the compression
    LEVEL_MAP = "level_map"  # level: the level detection's own finding


@dataclass(frozen=True)
class SpineFinding:
    code: SpineFindingCode
    levels: Extent | CordCompression | None = None
    label: str | None = None
    error: InputError | None = None
    level: LevelFinding | None = None
    not_assessed: NotAssessed | None = None
