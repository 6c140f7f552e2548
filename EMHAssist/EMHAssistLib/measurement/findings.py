"""What measuring a region found doubtful, typed: a code, the region, and what the finding names (the
sequence, the outline, a count of voxels). outputs/wording.py states each in the words of
data/wording.json, so the measurement never writes the sentence a reader sees (issue 16, point 3)."""

from dataclasses import dataclass
from enum import Enum


class RegionFindingCode(Enum):
    """Each code is a key of data/wording.json's `region_findings`."""

    SEGMENT_LEFT_OUT = "segment_left_out"  # label: the empty segment, measured without
    OUTSIDE_FIELD = "outside_field"  # label: the outline reaching outside the role's field of view
    NO_VOXEL_CENTRE = "no_voxel_centre"  # role: the sequence it is not measured on
    ALL_NON_FINITE = "all_non_finite"  # role; voxels: how many, all non-finite
    NON_FINITE_LEFT_OUT = "non_finite_left_out"  # role; voxels: how many were left out
    FEW_VOXELS = "few_voxels"  # role; voxels: how many were measured


@dataclass(frozen=True)
class RegionFinding:
    code: RegionFindingCode
    region: str
    role: str | None = None
    label: str | None = None
    voxels: int | None = None
