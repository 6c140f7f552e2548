"""Benchmark: levels + cord segmentation + cord profile on a 512 x 512 x 40 sagittal study.

A synthetic sagittal T2 (0.5 x 0.5 mm in-plane, 4 mm slices): cord in CSF, vertebral bodies
and discs alternating every 25 mm in front of it; one anchor point, one cord seed. Prints the
median (min-max) of several runs of each step and the total against issue 3's 1 s target, then
the whole levels, cord and compression step as the analysis runs it (the cord ROI and the level
point read from their MRML nodes by `spine_inputs`, then `compression.assess`) against issue 13's
1 s target.

    .venv/bin/python bench/bench_levels.py [--baseline COMMIT [--engine COMMIT] [--rounds 2]]
    PYTHONPATH=$PWD/EMHAssist:$PWD/bench .venv/bin/python bench/bench_levels.py --profile 3

Every step is timed in wall time and in the CPU time of the process (on the shared machine wall
time counts the waits for a core). With --baseline, the whole step is timed in fresh processes on
this engine (the work tree's, or --engine's commit) and on the baseline commit's (`git archive`),
the two alternating, and the ratio of their medians is printed: figures of one run only compare
with each other when the machine is shared.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import slicer

from common import REPOSITORY, Timing, extract_engine, load_average, machine, milliseconds, print_table, run_child, timed_runs

from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.inputs.nodes import sequence_image
from EMHAssistLib.outputs.scene_writing import set_roi_box, set_volume_geometry
from EMHAssistLib.inputs.plain import SequenceImage
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import RegionSource, Study, spine_inputs
from EMHAssistLib.outputs.wording import finding_text
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


def steps() -> dict[str, Timing]:
    """The three steps apart (issue 3), then the whole step as the analysis runs it (issue 13)."""
    image = sagittal_study()
    seed = Box(np.zeros(3), np.eye(3), np.array([2.5, 1.0, 2.0]))
    anchor = levels.Vertebra("T6", 13, np.array([0.0, 25.0, 0.0]), "user")
    segmentation = timed(lambda: cord.segment_cord(image, seed))
    coverage = segmentation.result[0]
    profiling = timed(lambda: cord.measure_profile(coverage.values >= 0.5, coverage.grid, coverage.values))
    centreline = profiling.result.centreline
    level_mapping = timed(lambda: levels.build_level_map([anchor], image, centreline))
    print(
        f"study {image.voxels.shape[::-1]} voxels (i, j, k), {len(centreline.slices)} cord slices, "
        f"{len(level_mapping.result.vertebrae)} vertebrae", file=sys.stderr,
    )
    study = study_of(image, seed, anchor)
    images = [sequence_image("T2", study.sequences["T2"])]
    whole = timed(lambda: compression.assess(spine_inputs(study), images))
    if whole.result.levels is None:
        raise SystemExit(f"the levels step failed: {'; '.join(finding_text(finding) for finding in whole.result.warnings)}")
    return {"cord segmentation": segmentation, "profile": profiling, "levels": level_mapping, "whole step": whole}


def profiled_steps(runs: int, shown: int = 45) -> None:
    """cProfile of `runs` whole steps (`compression.assess` as the analysis runs it) in process CPU
    time, after one untimed step: where the step's time goes, cumulative."""
    import cProfile
    import pstats
    import time

    image = sagittal_study()
    seed = Box(np.zeros(3), np.eye(3), np.array([2.5, 1.0, 2.0]))
    study = study_of(image, seed, levels.Vertebra("T6", 13, np.array([0.0, 25.0, 0.0]), "user"))
    images = [sequence_image("T2", study.sequences["T2"])]
    compression.assess(spine_inputs(study), images)
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(runs):
        compression.assess(spine_inputs(study), images)
    profile.disable()
    print(f"{runs} whole steps, 512 x 512 x 40, process CPU time; {load_average()}")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(shown)


def print_steps(found: dict[str, Timing]) -> None:
    for name in ("cord segmentation", "profile", "levels"):
        print(f"{name:<18}{found[name].spread}; CPU {found[name].cpu_spread}")
    total = sum(found[name].median for name in ("cord segmentation", "profile", "levels"))
    print(
        f"total of the medians {milliseconds(total)} against ≤ {milliseconds(TARGET_S)}"
        f" ({'met' if total <= TARGET_S else 'MISSED'}); {load_average()}"
    )
    whole = found["whole step"]
    print(
        f"whole step (compression.assess: cord, levels, compression) {whole.spread} against ≤ {milliseconds(TARGET_S)}"
        f" ({'met' if whole.median <= TARGET_S else 'MISSED'}); CPU {whole.cpu_spread}; {load_average()}"
    )


def compare(baseline: str, engine: str | None, rounds: int) -> None:
    """The whole step on this engine and the baseline's, in fresh processes, alternating."""
    print(f"this engine: {engine or 'the work tree'}; baseline: {baseline}")
    with tempfile.TemporaryDirectory() as folder:
        engines = {"this engine": extract_engine(engine, Path(folder) / "engine") if engine else REPOSITORY / "EMHAssist"}
        engines[f"baseline {baseline}"] = extract_engine(baseline, Path(folder) / "baseline")
        runs: dict[str, list[dict]] = {name: [] for name in engines}
        for round_number in range(rounds):
            for name, path in engines.items():
                runs[name].append(run_child(__file__, path, []))
                print(f"round {round_number + 1}, {name}: whole step {milliseconds(Timing(runs[name][-1]['whole step']['seconds']).median)}; {load_average()}", flush=True)
    for step in ("whole step", "cord segmentation", "profile", "levels"):
        timings = {
            name: Timing([s for run in found for s in run[step]["seconds"]], cpu_seconds=[s for run in found for s in run[step]["cpu_seconds"]])
            for name, found in runs.items()
        }
        base = timings[f"baseline {baseline}"]
        print_table(
            f"{step}, 512 x 512 x 40: median (min-max, runs), {RUNS} runs a process, {rounds} processes an engine",
            ["engine", "wall", "against the baseline", "CPU time of the process", "against the baseline (CPU)"],
            [
                [name, timing.spread, f"{base.median / timing.median:.2f}× faster", timing.cpu_spread, f"{base.cpu_median / timing.cpu_median:.2f}× faster"]
                for name, timing in timings.items()
            ],
        )
    ours = Timing([s for run in runs["this engine"] for s in run["whole step"]["seconds"]])
    print(f"\nthis engine's whole step: median {milliseconds(ours.median)} against ≤ {milliseconds(TARGET_S)} ({'met' if ours.median <= TARGET_S else 'MISSED'}); {load_average()}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="commit whose engine the whole step is compared with, in the same run")
    parser.add_argument("--engine", help="with --baseline: commit whose engine is timed (default: the work tree's)")
    parser.add_argument("--rounds", type=int, default=2, help="with --baseline: processes per engine, the engines alternating")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N whole steps of this engine instead")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile:
        profiled_steps(args.profile)
        return
    if args.child:
        found = steps()
        print(json.dumps({name: {"seconds": timing.seconds, "cpu_seconds": timing.cpu_seconds} for name, timing in found.items()}))
        return
    print(f"Machine: {machine()}")
    if args.baseline:
        compare(args.baseline, args.engine, args.rounds)
    else:
        print_steps(steps())


if __name__ == "__main__":
    main(sys.argv[1:])
