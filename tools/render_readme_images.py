"""Render the README's pictures: the built-in case with EMHAssist's overlays in Slicer's own slice views.

The case is analysed as the Slicer module does it (levels, mass and cord segmentation, differential),
and the HTML report's key images are made from it (key_images.py: overlays drawn, the study's own
inputs hidden, a sagittal and an axial T2 slice through the mass rendered offscreen); the two T2
views are written as the README's pictures.

    .venv/bin/python tools/render_readme_images.py [--out docs/images]
"""

import argparse
from pathlib import Path

import slicer
from trame_slicer.core import SlicerApp

from EMHAssistLib.analysis import run_analysis
from EMHAssistLib.outputs.key_images import key_images
from EMHAssistLib.teaching.cases import DEFAULT_CASE, build_study, study_into_scene

PICTURES = {"T2 sagittal": "overlays-sagittal.png", "T2 axial": "overlays-axial.png"}


def render_pictures(out: Path, case: str = DEFAULT_CASE) -> list[Path]:
    app = SlicerApp()  # owns the logics the views draw through; alive until the pictures are made
    slicer.mrmlScene = app.scene
    study = study_into_scene(build_study(case), app.scene)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for image in key_images(study, run_analysis(study)):
        if image.title in PICTURES:
            path = out / PICTURES[image.title]
            path.write_bytes(image.png)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    for path in render_pictures(parser.parse_args().out):
        print(f"{path} ({path.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
