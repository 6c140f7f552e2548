"""Render the walk-through's pictures of the inputs: the built-in case's five region ROIs and its
level points on T2, in Slicer's own slice views (offscreen), as the panel's user places them: a
sagittal slice through the cord box (cord, mass, marrow, disc, levels) and an axial slice through
the muscle box (paraspinal muscle lies off the mid-sagittal plane).

    .venv/bin/python tools/render_walkthrough_images.py [--out docs/images]
"""

import argparse
from pathlib import Path

import slicer
from trame_slicer.core import SlicerApp

from EMHAssistLib.inputs.nodes import box_of_roi
from EMHAssistLib.outputs.render import SliceRenderer, SliceShot, write_png
from EMHAssistLib.teaching.cases import DEFAULT_CASE, build_study, study_into_scene

BACKGROUND = "T2"
SAGITTAL_SIZE_PX, SAGITTAL_FIELD_MM = (440, 520), 190.0
AXIAL_SIZE_PX, AXIAL_FIELD_MM = (320, 280), 110.0
# Markups' default colours would all be one; a colour per region tells the boxes apart.
REGION_COLOURS = {
    "cord": (0.2, 0.55, 1.0),
    "mass": (1.0, 0.45, 0.0),
    "marrow": (0.9, 0.2, 0.9),
    "muscle": (0.2, 0.9, 0.3),
    "disc": (1.0, 1.0, 0.3),
}


def render_inputs(out: Path) -> list[Path]:
    app = SlicerApp()
    slicer.mrmlScene = app.scene
    study = study_into_scene(build_study(DEFAULT_CASE), app.scene)
    for region, sources in study.regions.items():
        for source in sources:
            source.node.CreateDefaultDisplayNodes()
            source.node.GetDisplayNode().SetSelectedColor(REGION_COLOURS[region])
            display = source.node.GetDisplayNode()
            display.SetHandlesInteractive(False)  # the drag handles would hide the small boxes
            display.SetPropertiesLabelVisibility(False)
            display.SetFillOpacity(0.35)
    study.levels.CreateDefaultDisplayNodes()
    study.levels.GetDisplayNode().SetTextScale(2.4)
    cord = box_of_roi(study.regions["cord"][0].node).center
    muscle = box_of_roi(study.regions["muscle"][0].node).center
    shots = {
        "walkthrough-inputs-sagittal.png": SliceShot("Sagittal", tuple(cord), SAGITTAL_SIZE_PX, SAGITTAL_FIELD_MM),
        "walkthrough-inputs-axial.png": SliceShot("Axial", (cord[0], cord[1], muscle[2]), AXIAL_SIZE_PX, AXIAL_FIELD_MM),
    }
    out.mkdir(parents=True, exist_ok=True)
    with SliceRenderer(app.scene) as renderer:
        for name, shot in shots.items():
            write_png(renderer.render(study.sequences[BACKGROUND], shot), out / name)
    return [out / name for name in shots]


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    for path in render_inputs(parser.parse_args().out):
        print(f"{path} ({path.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
