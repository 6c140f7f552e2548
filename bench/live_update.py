"""Live update: one ROI moved, and the panel's own live analysis (`live.LiveAnalysis`) run.

The timed step is `LiveAnalysis.update`, the code the Slicer panel calls when an ROI moves: the
moved region re-measured on each sequence's own voxels inside the box's bounding block, the other
regions and the levels kept from the last update, and the whole report assembled (statistics,
ratios, enhancement, differential). Against it, on the same study in the same run: Segment
Statistics' way and SimpleITK's label statistics, each recomputing every region after the move,
as those tools must. The marrow ROI is dragged for the quoted figures; dragging the mass also
redoes levels, cord and compression (the levels step reads the mass), timed apart. Three in-plane
sizes: many runs at 512² (the figures quoted), one run of each slow baseline at the other sizes
(enough to show how cost grows). Run with the project's Python: `python bench/live_update.py`.
"""

import argparse
import gc
import sys

import numpy as np
import slicer

from baselines import LabelStatisticsBaseline, segment_statistics_update
from common import (
    IN_PLANE_SIZES,
    REFERENCE_SIZE,
    Timing,
    load_average,
    machine,
    milliseconds,
    print_table,
    repeats_at,
    timed_runs,
)
from synthetic_study import build_study

from EMHAssistLib.geometry import Box
from EMHAssistLib.inputs.nodes import box_of_roi
from EMHAssistLib.outputs.scene_writing import set_roi_box
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import Study
from EMHAssistLib.live import LEVEL_REGIONS, LiveAnalysis, LiveResult
from EMHAssistLib.report_model import RegionStatistics

DRAGGED_REGION = "marrow"  # not read by the levels step: the update re-measures this region alone
LEVELS_REGION = "mass"  # read by the levels step: its update also redoes levels, cord and compression
DRAG_STEP_MM = 0.4  # each update moves the ROI this far along the spine and the next moves it back
OBLIQUE_TURN = (np.array([1.0, 2.0, 3.0]), 7.0)  # axis and degrees: no box stays parallel to a grid
LIVE_TARGET_S = 0.005
SPEED_UP_TARGET = 50  # over Segment Statistics' way


class Drag:
    """Moves one ROI back and forth, as a user dragging it in a slice view."""

    def __init__(self, roi: slicer.vtkMRMLMarkupsROINode) -> None:
        self.roi = roi
        self.start = np.array(roi.GetCenter())
        self.moves = 0

    def __call__(self) -> None:
        self.moves += 1
        offset = np.array([0.0, 0.0, DRAG_STEP_MM * (self.moves % 2)])
        self.roi.SetCenter(*(self.start + offset))


def timed_live_updates(study: Study, live: LiveAnalysis, drag: Drag, repeats: int) -> Timing:
    """`live.update` after each move of the dragged ROI, checked to have redone what a move of that
    region must redo and no more (so the figure is the panel's update, not a full analysis)."""
    timing = timed_runs(lambda: live.update(study), repeats, prepare=drag)
    result: LiveResult = timing.result
    region = next(name for name, sources in study.regions.items() if sources[0].node is drag.roi)
    expected = [region, "levels"] if region in LEVEL_REGIONS else [region]
    if result.error is not None or result.recomputed != expected:
        raise SystemExit(f"live update after moving {region}: error {result.error!r}, recomputed {result.recomputed}")
    return timing


def turn_every_roi(study: Study, axis: np.ndarray, degrees: float) -> None:
    """Every ROI turned about its centre, so that each region is measured row by row, not as a block."""
    axis = axis / np.linalg.norm(axis)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = np.radians(degrees)
    turn = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
    for sources in study.regions.values():
        box = box_of_roi(sources[0].node)
        set_roi_box(sources[0].node, Box(box.center, turn @ box.axes, box.half_size))


def largest_mean_difference(report_regions: dict[str, dict[str, RegionStatistics]], theirs: dict) -> float:
    """Largest relative difference of a region mean between the report and a baseline (boundary voxels differ)."""
    return max(
        abs(theirs[region][role].mean - stats.mean) / abs(stats.mean)
        for region, by_role in report_regions.items()
        for role, stats in by_role.items()
    )


def measure_size(in_plane: int, repeats: int, baseline_repeats: int, levels_repeats: int) -> dict:
    scene = new_headless_scene()
    study = build_study(scene, in_plane)
    live = LiveAnalysis()
    drag = Drag(study.regions[DRAGGED_REGION][0].node)
    ours = timed_live_updates(study, live, drag, repeats)
    # The drag alternates between two places and each baseline runs as often as the others, so
    # Segment Statistics' last run and SimpleITK's measured the ROIs where the update below reads
    # them: their numbers are checked against the report's.
    segment_stats = timed_runs(lambda: segment_statistics_update(study), baseline_repeats, prepare=drag, warm_up=False)
    label_stats = LabelStatisticsBaseline(study, use_histograms=True)
    sitk_histograms = timed_runs(lambda: label_stats.update(DRAGGED_REGION), baseline_repeats, prepare=drag, warm_up=False)
    label_stats = LabelStatisticsBaseline(study, use_histograms=False)
    sitk_plain = timed_runs(lambda: label_stats.update(DRAGGED_REGION), baseline_repeats, prepare=drag, warm_up=False)
    regions = live.update(study).analysis.report.regions
    voxels = sum(stats.n for by_role in regions.values() for stats in by_role.values())
    agreement = {
        "Segment Statistics": largest_mean_difference(regions, segment_stats.result),
        "SimpleITK": largest_mean_difference(regions, sitk_plain.result),
    }
    with_levels = timed_live_updates(study, live, Drag(study.regions[LEVELS_REGION][0].node), levels_repeats)
    turn_every_roi(study, *OBLIQUE_TURN)
    oblique = timed_live_updates(study, live, drag, repeats)
    del label_stats, live, study, scene
    gc.collect()
    return {
        "in_plane": in_plane,
        "voxels": voxels,
        "ours": ours,
        "with_levels": with_levels,
        "oblique": oblique,
        "segment_statistics": segment_stats,
        "sitk_histograms": sitk_histograms,
        "sitk_plain": sitk_plain,
        "agreement": agreement,
        "load": load_average(),
    }


def speed_up(baseline: Timing, ours: Timing) -> str:
    return f"{baseline.median / ours.median:.0f}×"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(IN_PLANE_SIZES), help="in-plane matrix sizes")
    parser.add_argument("--repeats", type=int, default=200, help=f"timed live updates at {REFERENCE_SIZE}²")
    parser.add_argument("--other-repeats", type=int, default=50, help="timed live updates at the other sizes")
    parser.add_argument("--baseline-repeats", type=int, default=5, help=f"timed runs of each baseline at {REFERENCE_SIZE}²")
    parser.add_argument("--other-baseline-repeats", type=int, default=1, help="timed runs of each baseline at the other sizes")
    parser.add_argument("--levels-repeats", type=int, default=5, help=f"timed live updates after moving the {LEVELS_REGION}, at every size")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    print(
        f"Study: 4 sequences (T1, T2 tilted 4°, T1C, STIR shifted half a voxel) of N×N×200 int16, five ROIs; {DRAGGED_REGION} ROI dragged"
    )
    results = []
    for size in args.sizes:
        results.append(
            measure_size(
                size,
                repeats_at(size, args.repeats, args.other_repeats),
                repeats_at(size, args.baseline_repeats, args.other_baseline_repeats),
                args.levels_repeats,
            )
        )
        print(f"{size}²×200 measured; {results[-1]['load']}", flush=True)
    print_table(
        f"Live update (LiveAnalysis.update after the {DRAGGED_REGION} ROI moved), wall time: median (min-max, runs)",
        [
            "volume",
            "region voxels",
            "EMHAssist",
            "EMHAssist, ROIs oblique to every grid",
            f"{LEVELS_REGION} moved: levels, cord and compression redone too",
        ],
        [
            [f"{r['in_plane']}²×200", str(r["voxels"]), r["ours"].spread, r["oblique"].spread, r["with_levels"].spread]
            for r in results
        ],
    )
    print_table(
        "Baselines, same study, same run: median (min-max, runs) and EMHAssist's speed-up (oblique ROIs: over Segment Statistics)",
        ["volume", "Segment Statistics way", "SimpleITK label stats + median", "SimpleITK label stats, no median", "oblique"],
        [
            [
                f"{r['in_plane']}²×200",
                f"{r['segment_statistics'].spread} → {speed_up(r['segment_statistics'], r['ours'])}",
                f"{r['sitk_histograms'].spread} → {speed_up(r['sitk_histograms'], r['ours'])}",
                f"{r['sitk_plain'].spread} → {speed_up(r['sitk_plain'], r['ours'])}",
                speed_up(r["segment_statistics"], r["oblique"]),
            ]
            for r in results
        ],
    )
    for r in results:
        if r["in_plane"] == REFERENCE_SIZE:
            ratio = r["segment_statistics"].median / r["ours"].median
            print(
                f"\nTargets at {REFERENCE_SIZE}²×200: median {milliseconds(r['ours'].median)} against ≤ {milliseconds(LIVE_TARGET_S)}"
                f" ({'met' if r['ours'].median <= LIVE_TARGET_S else 'MISSED'}); {ratio:.0f}× Segment Statistics' way"
                f" against ≥ {SPEED_UP_TARGET}× ({'met' if ratio >= SPEED_UP_TARGET else 'MISSED'})"
            )
    first = results[0]
    print_table(
        f"Scaling of the medians against {first['in_plane']}² (voxels per volume grow 4× per step)",
        ["volume", "EMHAssist", "EMHAssist, oblique ROIs", "Segment Statistics way", "SimpleITK + median"],
        [
            [
                f"{r['in_plane']}²×200",
                *(
                    f"{r[key].median / first[key].median:.1f}×"
                    for key in ("ours", "oblique", "segment_statistics", "sitk_histograms")
                ),
            ]
            for r in results
        ],
    )
    print_table(
        "Same numbers: largest relative difference of a region mean against EMHAssist",
        ["volume", "Segment Statistics way", "SimpleITK"],
        [
            [
                f"{r['in_plane']}²×200",
                f"{r['agreement']['Segment Statistics']:.2e}",
                f"{r['agreement']['SimpleITK']:.2e}",
            ]
            for r in results
        ],
    )
    print(f"\nFinished; {load_average()}")


if __name__ == "__main__":
    main(sys.argv[1:])
