"""Render the teaching library's gallery: each built-in case in Slicer's own slice views, offscreen.

One PNG per case: mid-line sagittal T1, T2 and post-contrast T1 (each sequence on its own grid,
as acquired) and an axial T2 through the middle of the first mass, side by side. No overlays: the
pictures show what a learner sees before placing any ROI.

    .venv/bin/python tools/render_case_gallery.py [--out docs/images/cases] [CASE ...]
"""

import argparse
from pathlib import Path

import numpy as np
import slicer
from trame_slicer.core import SlicerApp

from EMHAssistLib.inputs.study import Study
from EMHAssistLib.outputs.render import SliceRenderer, SliceShot, write_png
from EMHAssistLib.teaching.cases import build_study, case_names, study_into_scene

SAGITTAL_ROLES = ("T1", "T2", "T1C")
SAGITTAL_VIEW = {"size_px": (210, 400), "field_of_view_mm": 250.0}
AXIAL_VIEW = {"size_px": (300, 300), "field_of_view_mm": 130.0}
GAP_PX = 4


def render_case(case: str, out: Path) -> Path:
    app = SlicerApp()
    slicer.mrmlScene = app.scene
    study = study_into_scene(build_study(case), app.scene)
    _hide_inputs(study)
    centre = _mass_middle(study)
    sagittal_through = (0.0, centre[1], centre[2])
    panels = []
    with SliceRenderer(app.scene) as renderer:
        for role in SAGITTAL_ROLES:
            if role in study.sequences:
                panels.append(renderer.render(study.sequences[role], SliceShot("Sagittal", sagittal_through, **SAGITTAL_VIEW)))
        axial = renderer.render(study.sequences["T2"], SliceShot("Axial", (0.0, centre[1] - 10.0, centre[2]), **AXIAL_VIEW))
    panels.append(_pad_to_height(axial, SAGITTAL_VIEW["size_px"][1]))
    path = out / f"{case}.png"
    write_png(_side_by_side(panels), path)
    return path


def _hide_inputs(study: Study) -> None:
    inputs = [source.node for sources in study.regions.values() for source in sources] + [study.levels]
    for node in inputs:
        node.CreateDefaultDisplayNodes()
        node.GetDisplayNode().SetVisibility(False)


def _mass_middle(study: Study) -> np.ndarray:
    """World centre of the first mass ROI: the gallery's views are centred on the lesion."""
    roi = study.regions["mass"][0].node
    centre = [0.0, 0.0, 0.0]
    roi.GetCenter(centre)
    return np.array(centre)


def _pad_to_height(image: np.ndarray, height: int) -> np.ndarray:
    padded = np.zeros((height, image.shape[1], 3), dtype=np.uint8)
    top = (height - image.shape[0]) // 2
    padded[top : top + image.shape[0]] = image
    return padded


def _side_by_side(panels: list[np.ndarray]) -> np.ndarray:
    gap = np.zeros((panels[0].shape[0], GAP_PX, 3), dtype=np.uint8)
    parts = [part for panel in panels for part in (panel, gap)][:-1]
    return np.concatenate(parts, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/cases"))
    parser.add_argument("cases", nargs="*", help="built-in cases (default: all)")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    for case in arguments.cases or case_names():
        path = render_case(case, arguments.out)
        print(f"{path} ({path.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
