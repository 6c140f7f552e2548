"""In the browser: from letting go of a dragged ROI to its new ratios on the page (issue 18, point 6).

`emhassist serve` runs on a case folder written from a built-in case (mds_t5_t8, 3 sequences); Debian's
headless Chromium (Testing/browser.py) opens it, and the mass ROI's centre handle is dragged 150 px up
(partly off the mass's top: within the mass the phantom's signal is even, and so are the ratios) and back
in the sagittal view with real mouse events (DevTools Input.dispatchMouseEvent), the way a teacher
drags it (found on the screenshot: the viewer draws a case's ROIs as green outlines). The timed interval is measured in the page's own clock (performance.now()): from the
`pointerup` that ends the drag to the moment the ratios table's text changes in the page (a
MutationObserver on #ratios). That covers the round trip to the server, the mass measured again, the
ratios sent back and Vue's update of the table; the paint after it (one frame) is not counted. The mass
is the slowest ROI to move (it also redoes the levels), and those follow the ratios: each drag waits
for them to finish before the next one.

The centre handle is found on the screenshot once, before the first drag; every later drag starts where
the one before let go, since a translated box's centre handle stays under the pointer. Looking for it
again on each screenshot (the centre of the rightmost group of green pixels) pressed beside the handle
once the box had moved up beside the cord's ROI, whose handles then fell in the same group: that press
caught nothing (the box stayed, no release reached the server) or a face handle (the box was resized, not
moved), and such a drag was logged as "page never showed the ratios changed". A drag not counted now
says what the page shows and whether the box's green outline lies under the point of release.

    .venv/bin/python bench/browser_roi_drag.py [--drags 12] [--case mds_t5_t8] [--baseline COMMIT [--rounds 2]] [--out bench/results/NAME.txt]

Target: median at most 100 ms (issue 18). Figures depend on the machine's load, printed with them; with
--baseline, the server of that commit's EMHAssist (`git archive`) is timed in the same run, the two
alternating round by round (each round a fresh server and browser, `--drags` drags), so that both see
the same load.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import BENCH_DIR, REPOSITORY, extract_engine, load_average, machine


sys.path.insert(0, str(BENCH_DIR.parent / "Testing"))
from browser import Browser, drag_vertically, mass_handle, served  # noqa: E402

TARGET_MS = 100.0
DRAG_PX = 150
# Recorded in the page: when the drag ended, and when the ratios table last changed.
WATCH = """(() => {
  window.__released = null; window.__ratiosChanged = null;
  addEventListener('pointerup', () => { window.__released = performance.now(); window.__ratiosChanged = null; }, true);
  new MutationObserver(() => { if (window.__released !== null && window.__ratiosChanged === null) window.__ratiosChanged = performance.now(); })
    .observe(document.getElementById('ratios'), {subtree: true, childList: true, characterData: true});
  return true;
})()"""


# What the page shows when a drag's ratios never came: whether an update ran at all, and its error if any.
SHOWN = "JSON.stringify({analyses_shown: window.trame.state.get('analyses_shown'), updating: window.trame.state.get('updating'), error: window.trame.state.get('error')})"


def green_near(browser: Browser, x: float, y: float, radius: int = 6) -> bool:
    """Whether an ROI's green outline or handle (quiz.json's reference colour) lies within `radius` px of (x, y)."""
    from EMHAssistLib.knowledge import load

    left, top = round(x) - radius, round(y) - radius
    crop = browser.screenshot()[max(top, 0) : top + 2 * radius + 1, max(left, 0) : left + 2 * radius + 1].astype(int)
    return bool(np.all(np.abs(crop - np.asarray(load("quiz")["reference_color"]) * 255) < 60, axis=-1).any())


def write_case(name: str, folder: Path) -> None:
    """The built-in case as a case folder."""
    from EMHAssistLib.outputs.case_folder import save_case_folder
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.teaching.cases import build_study, study_into_scene

    save_case_folder(study_into_scene(build_study(name), new_headless_scene()), folder)


def run(case: str, drags: int, engine: Path, name: str) -> tuple[list[float], list[str]]:
    """`drags` drags on a server running `engine`'s EMHAssist package."""
    latencies, log = [], []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / case
        write_case(case, folder)
        server_path = os.pathsep.join([str(engine), os.environ.get("PYTHONPATH", "")])
        with _environment(PYTHONPATH=server_path), served(str(folder), listen_within_s=120) as url, Browser() as browser:
            browser.navigate(url)
            browser.wait_for("document.querySelectorAll('#ranking > li').length >= 3", 240, "the case's results")
            browser.evaluate(WATCH)
            time.sleep(3)  # the views' first images
            x, y = mass_handle(browser)
            for index in range(drags):
                before = browser.evaluate("document.getElementById('ratios').innerText")
                dy = -DRAG_PX if index % 2 == 0 else DRAG_PX  # up off the mass's top, and back
                drag_vertically(browser, x, y, dy)
                y += dy  # where the centre handle now is: the next drag starts there
                try:
                    changed = browser.wait_for("window.__ratiosChanged !== null && window.__ratiosChanged - window.__released", 60, "the ratios changed", SHOWN)
                except TimeoutError as error:  # said, not counted, the run goes on
                    moved = "the box's outline is under the release point" if green_near(browser, x, y) else "no box outline under the release point"
                    log.append(f"{name} drag {index + 1}: not counted ({error}; {moved}); {load_average()}")
                    print(log[-1], flush=True)
                    browser.wait_for("!window.trame.state.get('updating')", 120, "the levels and differential updated")
                    continue
                browser.wait_for("!window.trame.state.get('updating')", 120, "the levels and differential updated")
                after = browser.evaluate("document.getElementById('ratios').innerText")
                if after == before:
                    raise SystemExit(f"drag {index + 1}: the ratios table did not change")
                latencies.append(float(changed))
                log.append(f"{name} drag {index + 1}: {changed:.1f} ms; {load_average()}")
                print(log[-1], flush=True)
    return latencies, log


class _environment:
    """Environment variables set for the servers started inside the block, restored after it."""

    def __init__(self, **values: str) -> None:
        self._values, self._saved = values, {}

    def __enter__(self) -> None:
        self._saved = {key: os.environ.get(key) for key in self._values}
        os.environ.update(self._values)

    def __exit__(self, *_) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drags", type=int, default=12)
    parser.add_argument("--case", default="mds_t5_t8")
    parser.add_argument("--baseline", help="commit whose server is timed in the same run, alternating with this one")
    parser.add_argument("--rounds", type=int, default=1, help="servers per engine (each --drags drags), the engines alternating")
    parser.add_argument("--out", type=Path, help="also write the output to this file")
    args = parser.parse_args()
    started = f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}"
    with tempfile.TemporaryDirectory() as folder:
        engines = {"this engine": REPOSITORY / "EMHAssist"}
        if args.baseline:
            engines[f"baseline {args.baseline}"] = extract_engine(args.baseline, Path(folder) / "baseline")
        latencies: dict[str, list[float]] = {name: [] for name in engines}
        log: list[str] = []
        for _ in range(args.rounds):
            for name, engine in engines.items():
                measured, lines = run(args.case, args.drags, engine, name)
                latencies[name] += measured
                log += lines
    lines = [
        f"browser ROI drag -> ratios shown ({args.case}, mass ROI, {args.drags} drags of {DRAG_PX} px a round, {args.rounds} round(s) an engine)",
        f"started {started}",
        *log,
        *(
            f"{name}: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f}, {len(times)} drags); target <= {TARGET_MS:.0f} ms: "
            + ("met" if statistics.median(times) <= TARGET_MS else "not met")
            for name, times in latencies.items()
        ),
        f"ended {time.strftime('%H:%M UTC', time.gmtime())}; {load_average()}",
    ]
    print("\n".join(lines[-len(engines) - 1 :]))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
