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

    .venv/bin/python bench/browser_roi_drag.py [--drags 12] [--case mds_t5_t8] [--out bench/results/NAME.txt]

Target: median at most 100 ms (issue 18). Figures depend on the machine's load, printed with them.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import BENCH_DIR, load_average, machine

from EMHAssistLib.knowledge import load

sys.path.insert(0, str(BENCH_DIR.parent / "Testing"))
from browser import Browser, served  # noqa: E402

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


def write_case(name: str, folder: Path) -> None:
    """The built-in case as a case folder."""
    from EMHAssistLib.inputs.casefolder import save_case_folder
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.teaching.cases import build_study, study_into_scene

    save_case_folder(study_into_scene(build_study(name), new_headless_scene()), folder)


def sagittal_rect(browser: Browser) -> tuple[int, int, int, int]:
    return tuple(
        round(v)
        for v in browser.evaluate("(() => {const r = document.querySelector('#views img').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];})()")
    )


def mass_handle(browser: Browser) -> tuple[float, float]:
    """The page position of the mass ROI's centre handle. The viewer draws a case's ROIs as green
    outlines (quiz.json's reference colour); in the sagittal view through the mass, the mass's box is
    the most posterior (rightmost) of them, apart from the marrow's and the disc's in the body."""
    left, top, right, bottom = sagittal_rect(browser)
    crop = browser.screenshot()[top:bottom, left:right].astype(int)
    green = np.all(np.abs(crop - np.asarray(load("quiz")["reference_color"]) * 255) < 60, axis=-1)
    boxes = []  # (rows, columns) of each group of green pixels apart from the others
    for rows in _runs(np.nonzero(green.any(axis=1))[0]):
        for columns in _runs(np.nonzero(green[rows.min() : rows.max() + 1].any(axis=0))[0]):
            box_rows = rows.min() + np.nonzero(green[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1].any(axis=1))[0]
            boxes.append((box_rows, columns))
    if not boxes:
        raise SystemExit("no green ROI outline in the sagittal view")
    rows, columns = max(boxes, key=lambda box: box[1].mean())
    return left + (columns.min() + columns.max()) / 2, top + (rows.min() + rows.max()) / 2


def _runs(indices: np.ndarray, gap: int = 8) -> list[np.ndarray]:
    """Sorted pixel indices split where more than `gap` pixels lie between neighbours."""
    return np.split(indices, np.nonzero(np.diff(indices) > gap)[0] + 1) if len(indices) else []


def drag(browser: Browser, x: float, y: float, dy: float) -> None:
    """Press on (x, y), move `dy` pixels down (up when negative) in 6-pixel steps 0.15 s
    apart (the view's interaction drops faster moves), let go."""

    def mouse(kind: str, offset: float, buttons: int) -> None:
        browser.command("Input.dispatchMouseEvent", type=kind, x=float(x), y=float(y + offset), button="left", buttons=buttons, clickCount=1)

    mouse("mouseMoved", 0, 0)
    mouse("mousePressed", 0, 1)
    steps = max(1, round(abs(dy) / 6))
    for step in range(1, steps + 1):
        mouse("mouseMoved", dy * step / steps, 1)
        time.sleep(0.15)
    mouse("mouseReleased", dy, 0)


def run(case: str, drags: int) -> tuple[list[float], list[str]]:
    latencies, log = [], []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / case
        write_case(case, folder)
        with served(str(folder)) as url, Browser() as browser:
            browser.navigate(url)
            browser.wait_for("document.querySelectorAll('#ranking > li').length >= 3", 240, "the case's results")
            browser.evaluate(WATCH)
            time.sleep(3)  # the views' first images
            for index in range(drags):
                x, y = mass_handle(browser)
                before = browser.evaluate("document.getElementById('ratios').innerText")
                drag(browser, x, y, -DRAG_PX if index % 2 == 0 else DRAG_PX)  # up off the mass's top, and back
                changed = browser.wait_for("window.__ratiosChanged !== null && window.__ratiosChanged - window.__released", 60, "the ratios changed")
                browser.wait_for("!window.trame.state.get('updating')", 120, "the levels and differential updated")
                after = browser.evaluate("document.getElementById('ratios').innerText")
                if after == before:
                    raise SystemExit(f"drag {index + 1}: the ratios table did not change")
                latencies.append(float(changed))
                log.append(f"drag {index + 1}: {changed:.1f} ms; {load_average()}")
                print(log[-1], flush=True)
    return latencies, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drags", type=int, default=12)
    parser.add_argument("--case", default="mds_t5_t8")
    parser.add_argument("--out", type=Path, help="also write the output to this file")
    args = parser.parse_args()
    started = f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}"
    latencies, log = run(args.case, args.drags)
    median = statistics.median(latencies)
    lines = [
        f"browser ROI drag -> ratios shown ({args.case}, mass ROI, {args.drags} drags of {DRAG_PX} px)",
        f"started {started}",
        *log,
        f"median {median:.1f} ms (min {min(latencies):.1f}, max {max(latencies):.1f}); target <= {TARGET_MS:.0f} ms: "
        + ("met" if median <= TARGET_MS else "not met"),
        f"ended {time.strftime('%H:%M UTC', time.gmtime())}; {load_average()}",
    ]
    print("\n".join(lines[-2:]))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
