"""Screenshots of the browser viewer for the README: `emhassist serve` in headless Chromium.

The built-in case as a quiz before the reveal (the learner's mass ROI added and typed onto the
mass), then after the reveal, the panel scrolled to the verdict, teaching points, ROI and ratio
comparisons and the ranking; the views show the overlays and the reference boxes in green.

    .venv/bin/python tools/render_browser_screenshots.py [--case mds_t5_t8] [--out docs/images]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))
from browser import Browser, served
from EMHAssistLib.teaching.cases import DEFAULT_CASE, box_of_spec, build_study

SETTLE_S = 4.0  # real time for the remote views to stream their latest frames


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=DEFAULT_CASE)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    reference = build_study(args.case).rois
    with served(args.case) as url, Browser(1400, 900) as browser:
        browser.navigate(url)
        browser.wait_for("window.trame && window.trame.state && window.trame.state.get('loaded')", 60, "the case loaded")
        for count, region in enumerate(("mass", "cord"), start=1):
            _place(browser, region, box_of_spec(reference[region][0]), count)
        browser.evaluate("document.getElementById('pick-emh').click()")
        time.sleep(SETTLE_S)
        _save(browser, args.out / "serve-quiz.png")
        browser.evaluate("document.getElementById('reveal').click()")
        browser.wait_for("document.querySelectorAll('#ranking > li').length >= 3", 60, "the ranking")
        # The panel scrolled to the verdict; the window itself back at its top, or the views' top rows
        # (the differential label, once the views are no longer panned) went under the app bar.
        browser.evaluate("document.getElementById('verdict-block').scrollIntoView(); window.scrollTo(0, 0)")
        time.sleep(SETTLE_S)
        _save(browser, args.out / "serve-reveal.png")


def _place(browser: Browser, region: str, box, count: int) -> None:
    browser.evaluate(f"window.trame.state.set('quiz_region', {json.dumps(region)})")
    browser.evaluate("document.getElementById('add-roi').click()")
    browser.wait_for(f"(window.trame.state.get('rois') || []).length === {count}", 20, f"the {region} ROI")
    edit = dict(zip(("R", "A", "S"), np.round(box.center, 1).tolist()))
    edit.update({f"size_{axis}": round(float(2 * half), 1) for axis, half in zip(("R", "A", "S"), box.half_size)})
    browser.evaluate(f"window.trame.state.set('roi_edit', {json.dumps(edit)})")


def _save(browser: Browser, path: Path) -> None:
    # 256 colours keep a page screenshot legible at a third of the size.
    Image.fromarray(browser.screenshot()).quantize(256).save(path, optimize=True)
    print(path)


if __name__ == "__main__":
    main()
