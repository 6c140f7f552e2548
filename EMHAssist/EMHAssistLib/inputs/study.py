"""One case as MRML nodes: sequences by role, regions by name, level points, clinical context.

Both entry points fill this: the command line from a case folder, the Slicer panel from the
parameter node. The analysis reads it and never changes the nodes.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import slicer

from ..errors import InputError
from ..geometry import Grid, Labelmap, Shape
from ..limits import limits
from ..report_model import Clinical
from ..settings import spine_settings, vocabulary
from .nodes import EmptySegmentError, box_of_roi, check_volume_geometry, grid_of_volume, labelmap_of_segment, point_list
from .plain import Outline, SpineInputs, check_mass_boxes


# The region the spine stage grows into the mass (data/vocabulary.json names it).
MASS_REGION = "mass"


def sequence_roles() -> list[str]:
    return list(vocabulary().sequences)


def region_names() -> list[str]:
    return list(vocabulary().regions)


@dataclass(frozen=True)
class RegionSource:
    """One markups ROI, or one segment of a segmentation, that outlines part of a region."""

    node: slicer.vtkMRMLNode
    segment_id: str | None = None

    @property
    def label(self) -> str:
        if self.segment_id is None:
            return self.node.GetName()
        segment = self.node.GetSegmentation().GetSegment(self.segment_id)
        return f"{self.node.GetName()}/{segment.GetName() if segment else self.segment_id}"

    def shape(self) -> Shape:
        if self.segment_id is None:
            return box_of_roi(self.node)
        if self.node.GetSegmentation().GetSegment(self.segment_id) is None:
            raise InputError(self.label, "segment no longer exists")
        return labelmap_of_segment(self.node, self.segment_id)

    def outline(self) -> Outline:
        """The outline as plain geometry, read from the node now."""
        return Outline(self.label, self.shape(), self.segment_id is not None)


def outlines(sources: list[RegionSource]) -> list[Outline]:
    return read_outlines("", sources)[0]


def read_outlines(region: str, sources: list[RegionSource]) -> tuple[list[Outline], list[str]]:
    """A region's outlines read now, and the labels of the empty segments left out beside a painted
    outline (the measurement's first warnings name them): a segment added and never painted (Segment
    Editor's Add) would otherwise cost the region its ratios. A region that only empty segments
    outline is refused, naming the first."""
    found: list[Outline] = []
    empty: list[EmptySegmentError] = []
    for source in sources:
        try:
            found.append(source.outline())
        except EmptySegmentError as error:
            empty.append(error)
    if not found and empty:
        raise empty[0]
    if region == MASS_REGION:
        check_mass_boxes(found)
    return found, [error.subject for error in empty]


@dataclass
class Study:
    name: str
    sequences: dict[str, slicer.vtkMRMLScalarVolumeNode] = field(default_factory=dict)
    regions: dict[str, list[RegionSource]] = field(default_factory=dict)
    levels: slicer.vtkMRMLMarkupsFiducialNode | None = None
    clinical: Clinical = field(default_factory=Clinical)  # checked where the case is read (inputs.clinical.clinical_context)
    # What the loader read but doubts (a file's missing orientation, level points left out), for
    # the report's warnings.
    warnings: list[str] = field(default_factory=list)


def spine_inputs(study: Study, mass: Sequence[Outline] | None = None) -> SpineInputs:
    """What the spine stage reads of the study, read from its nodes now; `mass`: the mass region's
    outlines where the caller has read them already (and checked them: `read_outlines`)."""
    level_points = point_list(study.levels) if study.levels is not None else None
    if mass is None:
        mass = read_outlines(MASS_REGION, study.regions.get(MASS_REGION, []))[0]
    return SpineInputs(tuple(outlines(study.regions.get("cord", []))), tuple(mass), level_points)


def study_from_nodes(
    name: str,
    sequences: dict[str, slicer.vtkMRMLScalarVolumeNode | None],
    rois: dict[str, slicer.vtkMRMLMarkupsROINode | slicer.vtkMRMLSegmentationNode | None],
    segmentation: slicer.vtkMRMLSegmentationNode | None = None,
    levels: slicer.vtkMRMLMarkupsFiducialNode | None = None,
    clinical: Clinical | None = None,
) -> Study:
    """A study from node selections such as the Slicer panel's; roles left unselected (None) are absent.

    A region's node is a markups ROI or a segmentation (see `node_sources`). Segments of
    `segmentation` named like a region join that region's ROI, as in a case folder, so a region
    may be outlined by a box, by segments, or by both (their union).
    """
    _check_known(sequences, sequence_roles(), "sequence role")
    _check_known(rois, region_names(), "region")
    study = Study(name=name, levels=levels, clinical=clinical if clinical is not None else Clinical())
    study.sequences = {role: node for role, node in sequences.items() if node is not None}
    study.regions = {region: node_sources(region, node) for region, node in rois.items() if node is not None}
    if segmentation is not None:
        for region, sources in segment_sources(segmentation).items():
            study.regions.setdefault(region, []).extend(sources)
    study.warnings += shared_selection_warnings(study)
    if levels is not None:
        drop_far_level_points(study, levels.GetName())
    return study


def drop_far_level_points(study: Study, subject: str) -> None:
    """Leave the level points out, with a warning naming `subject`, when one lies farther outside every
    volume's field of view than the margin (data/limits.json): the levels are built along the span
    between points, millimetre by millimetre, so a point moved 1e8 mm away would take gigabytes. A
    case folder's loader and the panel's study both ask, so a point dragged or typed far off is
    answered the same way wherever it comes from."""
    grids = [grid for grid in map(_placeable_grid, study.sequences.values()) if grid is not None]
    if study.levels is None or not grids:
        return
    margin = limits().level_point_margin_mm
    for index in range(study.levels.GetNumberOfControlPoints()):
        point = np.array(study.levels.GetNthControlPointPositionWorld(index))
        distance = min(_distance_outside(grid, point) for grid in grids)
        if distance > margin:
            label = study.levels.GetNthControlPointLabel(index) or str(index + 1)
            study.warnings.append(
                f"{subject}: point {label} lies {distance:.3g} mm outside every volume's field of view (more than "
                f"{margin:g} mm); the level points are left out"
            )
            study.levels = None
            return


def _placeable_grid(volume: slicer.vtkMRMLScalarVolumeNode) -> Grid | None:
    """The volume's grid, or None when no point can be placed by it: the analysis refuses such a
    volume by name (`nodes.check_volume_geometry`), and it must not fail here first."""
    try:
        grid = grid_of_volume(volume)
        check_volume_geometry(volume.GetName(), grid)
    except InputError:
        return None
    return grid


def _distance_outside(grid: Grid, point: np.ndarray) -> float:
    """Millimetres from a world point to the nearest point of a grid's field of view (0 inside)."""
    ijk = grid.to_ijk(point[np.newaxis])[0]
    nearest = grid.to_world(np.clip(ijk, -0.5, grid.size_ijk - 0.5)[np.newaxis])[0]
    return float(np.linalg.norm(point - nearest))


def shared_selection_warnings(study: Study) -> list[str]:
    """A warning for a volume picked for two sequence roles, or an ROI or segment outlining two
    regions: usable, but every ratio between the two compares a thing with itself (1 by construction)."""
    roles: dict[slicer.vtkMRMLNode, list[str]] = {}
    for role, volume in study.sequences.items():
        roles.setdefault(volume, []).append(role)
    regions: dict[RegionSource, list[str]] = {}
    for region, sources in study.regions.items():
        for source in sources:
            regions.setdefault(source, []).append(region)
    warnings = [
        f"{volume.GetName()}: is picked as the {' and the '.join(names)} sequence; ratios between them compare the volume with itself"
        for volume, names in roles.items()
        if len(names) > 1
    ]
    warnings += [
        f"{source.label}: outlines the {' and the '.join(names)} regions; ratios between them compare the region with itself"
        for source, names in regions.items()
        if len(names) > 1
    ]
    return warnings


def node_sources(region: str, node: slicer.vtkMRMLNode) -> list[RegionSource]:
    """A region outlined by one node: an ROI, or a segmentation's segments named like the region
    (else its only segment, as a segmentation made for one region often holds just that)."""
    if node.IsA("vtkMRMLMarkupsROINode"):
        return [RegionSource(node)]
    if not node.IsA("vtkMRMLSegmentationNode"):
        raise InputError(node.GetName(), f"is a {node.GetClassName()}, not a markups ROI or a segmentation; it cannot outline the {region} region")
    content = node.GetSegmentation()
    ids = [content.GetNthSegmentID(index) for index in range(content.GetNumberOfSegments())]
    named = [segment_id for segment_id in ids if content.GetSegment(segment_id).GetName().strip().lower() == region]
    if named:
        return [RegionSource(node, segment_id) for segment_id in named]
    if len(ids) == 1:
        return [RegionSource(node, ids[0])]
    raise InputError(node.GetName(), f"has {len(ids)} segments and none named {region}; name the {region} segment")


def segment_sources(segmentation: slicer.vtkMRMLSegmentationNode) -> dict[str, list[RegionSource]]:
    """The segments whose names are region names (ignoring case and spaces around), by region."""
    known = set(region_names())
    content = segmentation.GetSegmentation()
    sources: dict[str, list[RegionSource]] = {}
    for index in range(content.GetNumberOfSegments()):
        region = content.GetNthSegment(index).GetName().strip().lower()
        if region in known:
            sources.setdefault(region, []).append(RegionSource(segmentation, content.GetNthSegmentID(index)))
    if not sources:
        raise InputError(segmentation.GetName(), f"has no segment named {', '.join(sorted(known))}")
    return sources


def overlap_warnings(by_region: dict[str, list[RegionSource]], subject: str) -> list[str]:
    """A warning for each two regions whose segments share voxels: each shared voxel is measured in
    both (a cord segment painted over the mass draws the mass/cord ratio towards 1)."""
    labelmaps = {region: [outline.shape for outline in outlines(sources)] for region, sources in sorted(by_region.items())}
    warnings = []
    for (first, first_maps), (second, second_maps) in itertools.combinations(labelmaps.items(), 2):
        shared = sum(_shared_voxels(one, other) for one in first_maps for other in second_maps)
        if shared:
            warnings.append(f"{subject}: the {first} and {second} segments share {shared} voxels, which are measured in both regions")
    return warnings


def _shared_voxels(first: Labelmap, second: Labelmap) -> int:
    """Voxels of `first` whose centres fall on a voxel of `second` (segments of one segmentation share its grid)."""
    ijk = np.rint(second.grid.to_ijk(first.grid.to_world(np.argwhere(first.mask)[:, ::-1].astype(float)))).astype(int)
    within = np.all((ijk >= 0) & (ijk < np.array(second.mask.shape[::-1])), axis=1)
    i, j, k = ijk[within].T
    return int(np.count_nonzero(second.mask[k, j, i]))


def _check_known(selection: dict, known: list[str], kind: str) -> None:
    for name in selection:
        if name not in known:
            raise InputError(name, f"is not a {kind}; expected one of {', '.join(known)}")
