"""Live update: one ROI moved, every region statistic and ratio recomputed.

EMHAssist's way (each region measured on each sequence's own voxels inside the box's bounding
box) against Segment Statistics' way and SimpleITK's label statistics, on the same study in the
same run, at three in-plane sizes. Run with the project's Python: `python bench/live_update.py`.
"""

import argparse
import gc
import sys

import numpy as np
import slicer

from baselines import LabelStatisticsBaseline, segment_statistics_update
from common import IN_PLANE_SIZES, machine, median_seconds, milliseconds, print_table
from synthetic_study import build_study

from EMHAssistLib.analysis import read_sequences
from EMHAssistLib.geometry import Box
from EMHAssistLib.nodes import box_of_roi, set_roi_box
from EMHAssistLib.ratios import enhancement, region_ratios
from EMHAssistLib.regions import SequenceImage, measure_region
from EMHAssistLib.scene import new_headless_scene
from EMHAssistLib.study import Study

MOVED_REGION = "mass"
DRAG_STEP_MM = 0.4  # each update moves the ROI this far along the spine and the next moves it back
OBLIQUE_TURN = (np.array([1.0, 2.0, 3.0]), 7.0)  # axis and degrees: no box stays parallel to a grid


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
    ours = median_seconds(lambda: emhassist_update(study, images), repeats, prepare=drag)
    segment_stats = median_seconds(
        lambda: segment_statistics_update(study), baseline_repeats, prepare=drag, warm_up=False
    )
    label_stats = LabelStatisticsBaseline(study, use_histograms=True)
    sitk_histograms = median_seconds(
        lambda: label_stats.update(MOVED_REGION), baseline_repeats, prepare=drag, warm_up=False
    )
    label_stats = LabelStatisticsBaseline(study, use_histograms=False)
    sitk_plain = median_seconds(lambda: label_stats.update(MOVED_REGION), baseline_repeats, prepare=drag, warm_up=False)
    result = emhassist_update(study, images)["stats"]
    voxels = sum(s.n for by_role in result.values() for s in by_role.values())
    agreement = {
        "Segment Statistics": largest_mean_difference(result, segment_statistics_update(study)),
        "SimpleITK": largest_mean_difference(result, label_stats.update(MOVED_REGION)),
    }
    turn_every_roi(study, *OBLIQUE_TURN)
    oblique = median_seconds(lambda: emhassist_update(study, images), repeats, prepare=drag)
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
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(IN_PLANE_SIZES), help="in-plane matrix sizes")
    parser.add_argument("--repeats", type=int, default=50, help="timed live updates per size")
    parser.add_argument("--baseline-repeats", type=int, default=3, help="timed baseline updates per size")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    print(
        f"Study: 4 sequences (T1, T2 tilted 4°, T1C, STIR shifted half a voxel) of N×N×200 int16, five ROIs; {MOVED_REGION} ROI dragged"
    )
    results = [measure_size(size, args.repeats, args.baseline_repeats) for size in args.sizes]
    rows = []
    for r in results:
        rows.append(
            [
                f"{r['in_plane']}²×200",
                str(r["voxels"]),
                milliseconds(r["ours"]),
                f"{milliseconds(r['oblique'])} ({r['segment_statistics'] / r['oblique']:.0f}×)",
                f"{milliseconds(r['segment_statistics'])} ({r['segment_statistics'] / r['ours']:.0f}×)",
                f"{milliseconds(r['sitk_histograms'])} ({r['sitk_histograms'] / r['ours']:.0f}×)",
                f"{milliseconds(r['sitk_plain'])} ({r['sitk_plain'] / r['ours']:.0f}×)",
            ]
        )
    print_table(
        "Live update, median wall time (speed-up of EMHAssist in brackets; for the oblique ROIs, over Segment Statistics)",
        [
            "volume",
            "region voxels",
            "EMHAssist",
            "EMHAssist, ROIs oblique to every grid",
            "Segment Statistics way",
            "SimpleITK label stats + median",
            "SimpleITK label stats, no median",
        ],
        rows,
    )
    first = results[0]
    print_table(
        f"Scaling against {first['in_plane']}² (voxels per volume grow 4× per step)",
        ["volume", "EMHAssist", "EMHAssist, oblique ROIs", "Segment Statistics way", "SimpleITK + median"],
        [
            [
                f"{r['in_plane']}²×200",
                f"{r['ours'] / first['ours']:.1f}×",
                f"{r['oblique'] / first['oblique']:.1f}×",
                f"{r['segment_statistics'] / first['segment_statistics']:.1f}×",
                f"{r['sitk_histograms'] / first['sitk_histograms']:.1f}×",
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


if __name__ == "__main__":
    main(sys.argv[1:])
