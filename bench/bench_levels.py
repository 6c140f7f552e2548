"""Benchmark: levels + cord segmentation + cord profile on a 512 x 512 x 40 sagittal study.

A synthetic sagittal T2 (0.5 x 0.5 mm in-plane, 4 mm slices): cord in CSF, vertebral bodies
and discs alternating every 25 mm in front of it; one anchor point, one cord seed. Prints the
median (min-max) of several runs of each step and the total against issue 3's 1 s target, then
the whole levels, cord and compression step as the analysis runs it (the cord ROI and the level
point read from their MRML nodes by `spine_inputs`, then `compression.assess`) against issue 13's
1 s target.

    .venv/bin/python bench/bench_levels.py
"""

import numpy as np
import slicer

from common import Timing, load_average, machine, milliseconds, timed_runs

from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.inputs.nodes import sequence_image, set_roi_box, set_volume_geometry
from EMHAssistLib.inputs.plain import SequenceImage
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import RegionSource, Study, spine_inputs
from EMHAssistLib.spine import compression
from EMHAssistLib.spine import cord
from EMHAssistLib.spine import levels

RUNS = 7
TARGET_S = 1.0


def sagittal_study() -> SequenceImage:
    shape = (40, 512, 512)  # (k = RL, j = SI, i = AP)
    matrix = np.zeros((4, 4))
    matrix[1, 0] = 0.5  # i -> A
    matrix[2, 1] = 0.5  # j -> S
    matrix[0, 2] = 4.0  # k -> R
    matrix[3, 3] = 1.0
    matrix[:3, 3] = [-78.0, -128.0, -128.0]
    grid = Grid(shape, matrix)
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in shape), indexing="ij")
    r, a, s = 4.0 * k - 78.0, 0.5 * i - 128.0, 0.5 * j - 128.0
    rng = np.random.default_rng(0)
    image = np.full(shape, 150.0, dtype=np.float32)
    image[(r / 8.0) ** 2 + (a / 7.0) ** 2 <= 1] = 1000.0  # CSF
    image[(r / 4.5) ** 2 + (a / 3.0) ** 2 <= 1] = 300.0  # cord
    in_body = (np.abs(r) <= 16) & (a >= 10) & (a <= 40)
    disc = np.abs(((s + 12.5) % 25.0) - 12.5) >= 10.0
    image[in_body] = np.where(disc[in_body], 700.0, 400.0)
    image += rng.normal(0, 20, shape).astype(np.float32)
    return SequenceImage("T2", grid, image)


def study_of(image: SequenceImage, seed: Box, anchor: levels.Vertebra) -> Study:
    """The image, cord seed and anchor as the nodes the analysis reads."""
    scene = new_headless_scene()
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T2")
    slicer.util.updateVolumeFromArray(volume, image.voxels)
    set_volume_geometry(volume, image.grid.ijk_to_world)
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "cord")
    set_roi_box(roi, seed)
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
    points.AddControlPointWorld(*anchor.centre, anchor.name)
    return Study("bench levels", {"T2": volume}, {"cord": [RegionSource(roi)]}, points)


def timed(step) -> Timing:
    return timed_runs(step, RUNS, warm_up=False)


def main() -> None:
    print(f"Machine: {machine()}")
    image = sagittal_study()
    seed = Box(np.zeros(3), np.eye(3), np.array([2.5, 1.0, 2.0]))
    anchor = levels.Vertebra("T6", 13, np.array([0.0, 25.0, 0.0]), "user")
    segmentation = timed(lambda: cord.segment_cord(image, seed))
    coverage = segmentation.result[0]
    profiling = timed(lambda: cord.measure_profile(coverage.values >= 0.5, coverage.grid, coverage.values))
    centreline = profiling.result.centreline
    level_mapping = timed(lambda: levels.build_level_map([anchor], image, centreline))
    total = segmentation.median + profiling.median + level_mapping.median
    print(
        f"study {image.voxels.shape[::-1]} voxels (i, j, k), {len(centreline.slices)} cord slices, "
        f"{len(level_mapping.result.vertebrae)} vertebrae"
    )
    print(f"cord segmentation {segmentation.spread}")
    print(f"profile           {profiling.spread}")
    print(f"levels            {level_mapping.spread}")
    print(
        f"total of the medians {milliseconds(total)} against ≤ {milliseconds(TARGET_S)}"
        f" ({'met' if total <= TARGET_S else 'MISSED'}); {load_average()}"
    )
    study = study_of(image, seed, anchor)
    images = [sequence_image("T2", study.sequences["T2"])]
    whole = timed(lambda: compression.assess(spine_inputs(study), images))
    if whole.result.levels is None:
        raise SystemExit(f"the levels step failed: {whole.result.warnings}")
    print(
        f"whole step (compression.assess: cord, levels, compression) {whole.spread} against ≤ {milliseconds(TARGET_S)}"
        f" ({'met' if whole.median <= TARGET_S else 'MISSED'}); {load_average()}"
    )


if __name__ == "__main__":
    main()
