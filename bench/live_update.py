"""Live update: one ROI moved, every region statistic and ratio recomputed.

EMHAssist's way (each region measured on each sequence's own voxels inside the box's bounding
box) against Segment Statistics' way and SimpleITK's label statistics, on the same study in the
same run, at three in-plane sizes: many runs at 512² (the figures quoted), one run of each slow
baseline at the other sizes (enough to show how cost grows). Run with the project's Python:
`python bench/live_update.py`.
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

from EMHAssistLib.analysis import read_sequences
from EMHAssistLib.inputs.nodes import box_of_roi, set_roi_box
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import Study
from EMHAssistLib.measurement.geometry import Box
from EMHAssistLib.measurement.ratios import enhancement, region_ratios
from EMHAssistLib.measurement.regions import SequenceImage, measure_region

MOVED_REGION = "mass"
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


def emhassist_update(study: Study, images: list[SequenceImage]) -> dict:
    """What the module recomputes when an ROI moves: every region on every sequence, then the ratios."""
    stats = {region: measure_region(region, sources, images).stats for region, sources in study.regions.items()}
    return {"ratios": region_ratios(stats), "enhancement": enhancement(stats), "stats": stats}


def turn_every_roi(study: Study, axis: np.ndarray, degrees: float) -> None:
    """Every ROI turned about its centre, so that each region is measured row by row, not as a block."""
    axis = axis / np.linalg.norm(axis)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = np.radians(degrees)
    turn = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
    for sources in study.regions.values():
        box = box_of_roi(sources[0].node)
        set_roi_box(sources[0].node, Box(box.center, turn @ box.axes, box.half_size))


def largest_mean_difference(ours: dict, theirs: dict) -> float:
    """Largest relative difference of a region mean between two methods (boundary voxels differ)."""
    return max(
        abs(theirs[region][role].mean - stats.mean) / abs(stats.mean)
        for region, by_role in ours.items()
        for role, stats in by_role.items()
    )


def measure_size(in_plane: int, repeats: int, baseline_repeats: int) -> dict:
    scene = new_headless_scene()
    study = build_study(scene, in_plane)
    images = read_sequences(study)
    drag = Drag(study.regions[MOVED_REGION][0].node)
    ours = timed_runs(lambda: emhassist_update(study, images), repeats, prepare=drag)
    # Each baseline's last timed run measures the ROIs where EMHAssist's last run did (the drag
    # alternates between two places), so its numbers are checked against EMHAssist's.
    segment_stats = timed_runs(lambda: segment_statistics_update(study), baseline_repeats, prepare=drag, warm_up=False)
    label_stats = LabelStatisticsBaseline(study, use_histograms=True)
    sitk_histograms = timed_runs(lambda: label_stats.update(MOVED_REGION), baseline_repeats, prepare=drag, warm_up=False)
    label_stats = LabelStatisticsBaseline(study, use_histograms=False)
    sitk_plain = timed_runs(lambda: label_stats.update(MOVED_REGION), baseline_repeats, prepare=drag, warm_up=False)
    result = emhassist_update(study, images)["stats"]
    voxels = sum(s.n for by_role in result.values() for s in by_role.values())
    agreement = {
        "Segment Statistics": largest_mean_difference(result, segment_stats.result),
        "SimpleITK": largest_mean_difference(result, sitk_plain.result),
    }
    turn_every_roi(study, *OBLIQUE_TURN)
    oblique = timed_runs(lambda: emhassist_update(study, images), repeats, prepare=drag)
    del label_stats, study, images, scene
    gc.collect()
    return {
        "in_plane": in_plane,
        "voxels": voxels,
        "ours": ours,
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
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    print(
        f"Study: 4 sequences (T1, T2 tilted 4°, T1C, STIR shifted half a voxel) of N×N×200 int16, five ROIs; {MOVED_REGION} ROI dragged"
    )
    results = []
    for size in args.sizes:
        results.append(
            measure_size(
                size,
                repeats_at(size, args.repeats, args.other_repeats),
                repeats_at(size, args.baseline_repeats, args.other_baseline_repeats),
            )
        )
        print(f"{size}²×200 measured; {results[-1]['load']}", flush=True)
    print_table(
        "Live update, wall time: median (min-max, runs)",
        ["volume", "region voxels", "EMHAssist", "EMHAssist, ROIs oblique to every grid"],
        [[f"{r['in_plane']}²×200", str(r["voxels"]), r["ours"].spread, r["oblique"].spread] for r in results],
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
