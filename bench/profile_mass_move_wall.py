"""Wall-time cProfile of mass moves, dumped for pstats: run it twice, with and without an environment
setting (say OPENBLAS_NUM_THREADS=1), and compare the two dumps' own times function by function.

`live_mass_drag.py --profile` counts process CPU time, which hides time spent waiting: a thread that
waits for another (OpenBLAS's, spinning after a BLAS call) shows in wall time only.

    PYTHONPATH=$PWD/EMHAssist:$PWD/bench .venv/bin/python bench/profile_mass_move_wall.py OUT.prof [MOVES]
"""

import cProfile
import sys
import time

import numpy as np

from synthetic_study import build_study

from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.live import LiveAnalysis

DRAG_STEP_MM = 0.4


def main(out: str, moves: int = 6) -> None:
    """`moves` mass moves profiled in wall time after the first update and two untimed moves."""
    study = build_study(new_headless_scene(), 512)
    live = LiveAnalysis()
    live.update(study)
    roi = study.regions["mass"][0].node
    start = np.array(roi.GetCenter())
    profile = cProfile.Profile(time.perf_counter)
    for move in range(1, moves + 3):
        roi.SetCenter(*(start + [0.0, 0.0, DRAG_STEP_MM * (move % 2)]))
        if move > 2:
            profile.enable()
        live.update(study)
        profile.disable()
    profile.dump_stats(out)


if __name__ == "__main__":
    main(sys.argv[1], *(int(n) for n in sys.argv[2:3]))
