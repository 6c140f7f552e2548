"""The comparison page as the README shows it: the teaching follow-up mds_t5_t8_treated (the
myelodysplasia case and its treated exam six months later) compared by `emhassist compare EARLIER
LATER --html FILE`, its first screen in headless Chromium (compare-html.png). Research and teaching use only.

    PYTHONPATH=$PWD/EMHAssist .venv/bin/python tools/render_comparison.py [--out docs/images]
"""

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))
from browser import Browser
from EMHAssistLib.frontends.cli import main as emhassist
from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.teaching.cases import study_into_scene
from EMHAssistLib.teaching.followup import build_pair

FOLLOW_UP = "mds_t5_t8_treated"
SCREEN_PX = (1000, 1100)  # width, height: the summary and the two rows of key images


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        exams = []
        for exam, name in zip(build_pair(FOLLOW_UP), ("earlier", "later")):
            save_case_folder(study_into_scene(exam, new_headless_scene()), work / name)
            exams.append(str(work / name))
        if emhassist(["compare", *exams, "--html", str(work / "compare.html")]) != 0:
            sys.exit(f"error: {FOLLOW_UP}: the comparison failed")
        with Browser(*SCREEN_PX) as browser:
            browser.navigate((work / "compare.html").as_uri())
            browser.wait_for("document.readyState === 'complete' && [...document.images].every(i => i.complete)", 30, "the page's images")
            image = Image.fromarray(browser.screenshot())
    path = args.out / "compare-html.png"
    image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(path, optimize=True)
    print(path)


if __name__ == "__main__":
    main()
