"""Regenerate every picture in docs/images: each tool that draws one, run in turn with the tree's package.

    PYTHONPATH=$PWD/EMHAssist .venv/bin/python tools/render_docs_images.py [--only NAME ...]

NAME is a tool's name below (readme, gallery, walkthrough, browser, report, panel, compare). Each runs in its
own process (the offscreen views of one Slicer application per process). A tool that fails is named at the
end; the others still run. Not here: the reliability diagrams (reliability*.png,
differential_reliability.png), which are measurements of the differential drawn by
tools/evaluate_differential.py --figure with the tuning choices stated where they are shown.
Research and teaching use only.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
# name -> (tool and arguments, the pictures it writes)
TOOLS = {
    "readme": (["tools/render_readme_images.py", "--out", str(IMAGES)], "overlays-sagittal.png, overlays-axial.png"),
    "gallery": (["tools/render_case_gallery.py", "--out", str(IMAGES / "cases")], "cases/*.png"),
    "walkthrough": (["tools/render_walkthrough_images.py", "--out", str(IMAGES)], "walkthrough-inputs-*.png"),
    "browser": (["tools/render_browser_screenshots.py", "--out", str(IMAGES)], "serve-quiz.png, serve-reveal.png"),
    "report": (["tools/render_report_print.py", "--out", str(IMAGES)], "report-html.png, report-print.png"),
    "panel": (["tools/render_panel.py", "--out", str(IMAGES)], "panel-*.png"),
    "compare": (["tools/render_comparison.py", "--out", str(IMAGES)], "compare-html.png"),
}


def main() -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(TOOLS), default=list(TOOLS))
    names = parser.parse_args().only
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "EMHAssist"), os.environ.get("PYTHONPATH")]))}
    failed = []
    for name in names:
        command, pictures = TOOLS[name]
        print(f"{name}: {pictures}", flush=True)
        if subprocess.run([sys.executable, *command], cwd=ROOT, env=environment).returncode != 0:
            failed.append(Path(command[0]).name)
    for tool in failed:
        print(f"error: tools/{tool}: failed; its pictures may not all be redrawn", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
