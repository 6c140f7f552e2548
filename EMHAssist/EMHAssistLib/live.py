"""Live analysis for the Slicer panel: as an ROI is moved or resized, only what it changes is redone.

The panel calls `LiveAnalysis.update` with the study its selections make, as often as its throttle
allows. Each region's measurement is kept with a fingerprint of its shapes and of the sequences'
voxels; the levels step (cord, mass growth, compression) with the fingerprint of what it reads
(sequences, cord and mass regions, level points). A moved marrow box re-measures marrow alone; a
moved mass box also redoes the levels, but keeps the cord traced and the level map (they do not
read the mass; kept with the fingerprint of the sequences, cord region and level points); the report is then assembled by the same code as a full
analysis, so the two never differ. Nodes removed from the scene are left out with a warning, and
an update while the scene closes does nothing. Qt-free: tested headless on real MRML.
"""

from collections.abc import Hashable
from dataclasses import dataclass, field, replace

import numpy as np
import slicer

from .analysis import Analysis, all_ratios, assemble, measure_outlined, read_sequences
from .errors import SHOWN_ERRORS, InputError
from .knowledge import DataFileError
from .geometry import Box, Grid, Labelmap, Shape
from .inputs.nodes import box_of_roi, node_to_world
from .inputs.plain import Outline, SequenceImage
from .inputs.study import MASS_REGION, RegionSource, Study, region_names, spine_inputs
from .measurement.regions import RegionMeasurement
from .outputs.wording import region_finding_text
from .report_model import Ratio, RatioKey
from .spine.compression import LevelsOutcome, MassFreeSteps
from .spine.compression import assess as assess_levels

# Regions whose shapes the levels step reads: moving any other region leaves levels as they were.
LEVEL_REGIONS = ("cord", "mass")
# Points per box axis, and at most this many segment voxels, sampled to estimate coverage.
_COVERAGE_STEPS = 8
_COVERAGE_POINTS = 4096
# Not an error: an update while the scene closes has nothing to measure and says so.
SCENE_CLOSING_NOTE = "the scene is closing; results are not updated"


@dataclass(frozen=True)
class RegionStatus:
    """What the panel shows beside a region: voxels and coverage per sequence, warnings."""

    voxels: dict[str, int]  # by sequence role
    coverage: dict[str, float]  # fraction of the region inside each sequence's field of view
    warnings: list[str]

    def line(self) -> str:
        parts = [f"{role} {self.voxels.get(role, 0)} vx, {self.coverage[role]:.0%} covered" for role in self.coverage]
        return "; ".join(parts + self.warnings)


@dataclass(frozen=True)
class _Measured:
    """A region's measurement kept by the fingerprint of what it was measured on, with its status and
    the outlines it read (the mass's, checked, are the spine stage's too: read once per move)."""

    key: Hashable
    measurement: RegionMeasurement
    status: RegionStatus
    outlines: tuple[Outline, ...]


@dataclass
class LiveResult:
    """One update: the analysis when inputs allow one, else the error (subject and problem); always the statuses."""

    analysis: Analysis | None
    error: InputError | DataFileError | None
    statuses: dict[str, RegionStatus]
    notes: list[str] = field(default_factory=list)  # inputs left out because their node is gone
    recomputed: list[str] = field(default_factory=list)  # regions measured afresh, and "levels"


class LiveAnalysis:
    def __init__(self) -> None:
        self._measured: dict[str, _Measured] = {}
        self._levels: tuple[Hashable, LevelsOutcome] | None = None
        self._mass_free: tuple[Hashable, MassFreeSteps] | None = None
        self._values_checked: set[Hashable] = set()  # volumes whose voxel magnitudes were checked, by content

    def reset(self) -> None:
        """Forget everything kept (the scene closed or another case was loaded)."""
        self._measured.clear()
        self._levels = None
        self._mass_free = None
        self._values_checked.clear()

    def update(self, study: Study) -> LiveResult:
        if _scene_closing(study):
            return LiveResult(None, None, {}, [SCENE_CLOSING_NOTE])
        study, notes = without_removed_nodes(study)
        result = LiveResult(None, None, {}, notes)
        try:
            self._analyse(study, result)
        except SHOWN_ERRORS as error:  # a data file cut short too: the panel and serve show its line, not a traceback
            result.error = error
        if result.error is not None:
            result.analysis = None
        return result

    def ratios(self, study: Study) -> dict[RatioKey, Ratio]:
        """The ratios alone, from the regions as they stand now (a moved region measured again, the
        others kept): what a surface shows the moment an ROI is let go, before `update` redoes the
        levels and the differential (which then measure nothing again)."""
        study, _ = without_removed_nodes(study)
        result = LiveResult(None, None, {})
        _, measurements, _ = self._measure_regions(study, read_sequences(study, self._values_checked), result)
        if result.error is not None:
            raise result.error
        return all_ratios({region: measurement.stats for region, measurement in measurements.items()})

    def _analyse(self, study: Study, result: LiveResult) -> None:
        clinical = study.clinical
        images = read_sequences(study, self._values_checked)
        images_key, measurements, region_keys = self._measure_regions(study, images, result)
        if result.error is not None:
            return
        points_key = _points_fingerprint(study.levels)
        levels_key = (images_key, tuple(region_keys.get(region) for region in LEVEL_REGIONS), points_key)
        if self._levels is None or self._levels[0] != levels_key:
            mass_free_key = (images_key, region_keys.get("cord"), points_key)
            if self._mass_free is None or self._mass_free[0] != mass_free_key:
                self._mass_free = (mass_free_key, MassFreeSteps())
            mass = self._measured.get(MASS_REGION)
            inputs = spine_inputs(study, mass.outlines if mass is not None else None)
            self._levels = (levels_key, assess_levels(inputs, images, self._mass_free[1]))
            result.recomputed.append("levels")
        result.analysis = assemble(study, clinical, images, measurements, self._levels[1])

    def _measure_regions(
        self, study: Study, images: list[SequenceImage], result: LiveResult
    ) -> tuple[Hashable, dict[str, RegionMeasurement], dict[str, Hashable]]:
        """Each region's measurement, kept or done afresh, with the fingerprints they were kept by."""
        images_key = tuple(_image_fingerprint(study.sequences[image.role], image) for image in images)
        measurements: dict[str, RegionMeasurement] = {}
        region_keys: dict[str, Hashable] = {}
        for region in [name for name in region_names() if name in study.regions]:
            try:
                region_keys[region] = (images_key, _region_fingerprint(study.regions[region]))
                measurements[region], result.statuses[region] = self._measure(
                    region, study.regions[region], images, region_keys[region], result
                )
            except InputError as error:
                result.statuses[region] = RegionStatus({}, {}, [str(error)])
                result.error = result.error or error
        self._forget_regions_not_in(study)
        return images_key, measurements, region_keys

    def _measure(
        self, region: str, sources: list[RegionSource], images: list[SequenceImage], key: Hashable, result: LiveResult
    ) -> tuple[RegionMeasurement, RegionStatus]:
        kept = self._measured.get(region)
        if kept is not None and kept.key == key:
            return kept.measurement, kept.status
        self._measured.pop(region, None)
        measurement, region_outlines = measure_outlined(region, sources, images)
        status = _status(measurement, region_outlines, images)
        self._measured[region] = _Measured(key, measurement, status, tuple(region_outlines))
        result.recomputed.append(region)
        return measurement, status

    def _forget_regions_not_in(self, study: Study) -> None:
        for region in set(self._measured) - set(study.regions):
            del self._measured[region]


def without_removed_nodes(study: Study) -> tuple[Study, list[str]]:
    """The study without the nodes that have left the scene, and a note naming each."""
    notes: list[str] = []

    def present(node: slicer.vtkMRMLNode, what: str) -> bool:
        if node.GetScene() is not None:
            return True
        notes.append(f"{node.GetName()}: was removed from the scene; the {what} is left out")
        return False

    sequences = {role: node for role, node in study.sequences.items() if present(node, f"{role} sequence")}
    regions = {}
    for region, sources in study.regions.items():
        kept = [source for source in sources if present(source.node, f"{region} region")]
        if kept:
            regions[region] = kept
    levels = study.levels if study.levels is not None and present(study.levels, "level points") else None
    return replace(study, sequences=sequences, regions=regions, levels=levels), notes


def coverage(shapes: list[Shape], grid: Grid) -> float:
    """Fraction of the shapes' volume inside the grid's field of view, from points sampled in them."""
    points = np.concatenate([_sample_points(shape) for shape in shapes])
    return float(grid.encloses(points).mean()) if len(points) else 0.0


def _sample_points(shape: Shape) -> np.ndarray:
    if isinstance(shape, Box):
        steps = (np.arange(_COVERAGE_STEPS) + 0.5) / _COVERAGE_STEPS * 2 - 1
        local = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3) * shape.half_size
        return local @ shape.axes.T + shape.center
    if isinstance(shape, Labelmap):
        k, j, i = np.nonzero(shape.mask)
        stride = max(1, len(i) // _COVERAGE_POINTS)
        return shape.grid.to_world(np.stack([i[::stride], j[::stride], k[::stride]], axis=1).astype(float))
    return shape.corners_world()


def _status(measurement: RegionMeasurement, region_outlines: list[Outline], images: list[SequenceImage]) -> RegionStatus:
    shapes = [outline.shape for outline in region_outlines]
    return RegionStatus(
        voxels={role: stats.n for role, stats in measurement.stats.items()},
        coverage={image.role: coverage(shapes, image.grid) for image in images},
        warnings=[region_finding_text(finding) for finding in measurement.warnings],
    )


def _scene_closing(study: Study) -> bool:
    nodes = list(study.sequences.values()) + [source.node for sources in study.regions.values() for source in sources]
    return any(node.GetScene() is not None and node.GetScene().IsClosing() for node in nodes)


def _image_fingerprint(volume: slicer.vtkMRMLScalarVolumeNode, image: SequenceImage) -> Hashable:
    # The node itself (kept alive by the key) and its voxels' modification time: new voxels or a
    # moved grid make a different key, and so does another volume selected for the role.
    return (volume, volume.GetImageData().GetMTime(), image.grid.shape, image.grid.ijk_to_world.tobytes())


def _region_fingerprint(sources: list[RegionSource]) -> Hashable:
    return tuple(_source_fingerprint(source) for source in sources)


def _source_fingerprint(source: RegionSource) -> Hashable:
    if source.segment_id is None:
        box = box_of_roi(source.node)
        return (box.center.tobytes(), box.axes.tobytes(), box.half_size.tobytes())
    segment = source.node.GetSegmentation().GetSegment(source.segment_id)
    if segment is None:
        raise InputError(source.label, "segment no longer exists")
    representation = segment.GetRepresentation(slicer.vtkSegmentationConverter.GetBinaryLabelmapRepresentationName())
    modified = representation.GetMTime() if representation is not None else None
    return (source.node, source.segment_id, modified, node_to_world(source.node).tobytes())


def _points_fingerprint(points: slicer.vtkMRMLMarkupsFiducialNode | None) -> Hashable:
    if points is None:
        return None
    positions = slicer.util.arrayFromMarkupsControlPoints(points, world=True) if points.GetNumberOfControlPoints() else np.empty((0, 3))
    labels = tuple(points.GetNthControlPointLabel(n) for n in range(points.GetNumberOfControlPoints()))
    return (np.asarray(positions).tobytes(), labels)
