"""What the spine stage reports beside its levels section, typed: a code and what the finding names
(the levels it concerns, a message it quotes). outputs/wording.py states each in the words of
data/wording.json, so the stage that measures never writes the sentence a reader sees (issue 16,
point 3: report wording in the outputs)."""

from dataclasses import dataclass
from enum import Enum

from ..report_model import CordCompression, Extent


class SpineFindingCode(Enum):
    """Each code is a key of data/wording.json's `spine_findings`."""

    NO_T2_SEQUENCE = "no_t2_sequence"
    CORD_FOUND_BEHIND_POINTS = "cord_found_behind_points"  # quoted: the level points' labels
    NO_CORD = "no_cord"  # quoted: why no cord could be followed
    LEVELS_FAILED = "levels_failed"  # quoted: the input error that stopped the step
    NO_LEVEL_POINTS = "no_level_points"
    NO_MASS_REGION = "no_mass_region"
    COMPRESSION_NOT_ASSESSED = "compression_not_assessed"  # levels (None: no levels), quoted: the section's reason
    READ_ON_MASS_SECTIONS = "read_on_mass_sections"  # levels: the compression
    LEVEL_MAP = "level_map"  # quoted: the level map's own warning (spine/levels.py still words them)


@dataclass(frozen=True)
class SpineFinding:
    code: SpineFindingCode
    levels: Extent | CordCompression | None = None
    quoted: str | None = None
