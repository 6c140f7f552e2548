"""Render the teaching library's gallery: each built-in case in Slicer's own slice views, offscreen.

One PNG per case: mid-line sagittal T1, T2 and post-contrast T1 (each sequence on its own grid,
as acquired) and an axial T2 through the middle of each mass box (one per site), side by side.
A composed field (a whole-spine case) is shown whole in taller views; a child's views are scaled
with the child. No overlays: the pictures show what a learner sees before placing any ROI.

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
from EMHAssistLib.teaching.phantom import SyntheticStudy, body_scale

SAGITTAL_ROLES = ("T1", "T2", "T1C")
SAGITTAL_VIEW = {"size_px": (210, 400), "field_of_view_mm": 250.0}
AXIAL_VIEW = {"size_px": (300, 300), "field_of_view_mm": 130.0}
COMPOSED_SAGITTAL_PX = (240, 640)  # a whole-spine field, shown whole
GAP_PX = 4


def render_case(case: str, out: Path) -> Path:
    app = SlicerApp()
    slicer.mrmlScene = app.scene
    synthetic = build_study(case)
    study = study_into_scene(synthetic, app.scene)
    _hide_inputs(study)
    scale = body_scale(synthetic.clinical.get("age"))
    sagittal_through, sagittal_view = _sagittal_view(synthetic, _mass_middles(study)[0], scale)
    axial_view = {"size_px": AXIAL_VIEW["size_px"], "field_of_view_mm": AXIAL_VIEW["field_of_view_mm"] * scale}
    panels = []
    with SliceRenderer(app.scene) as renderer:
        for role in SAGITTAL_ROLES:
            if role in study.sequences:
                panels.append(renderer.render(study.sequences[role], SliceShot("Sagittal", sagittal_through, **sagittal_view)))
        axials = [
            renderer.render(study.sequences["T2"], SliceShot("Axial", (0.0, centre[1] - 10.0 * scale, centre[2]), **axial_view))
            for centre in _mass_middles(study)
        ]
    stacked = np.concatenate([part for axial in axials for part in (axial, np.zeros((GAP_PX, axial.shape[1], 3), np.uint8))][:-1])
    panels.append(_pad_to_height(stacked, sagittal_view["size_px"][1]))
    path = out / f"{case}.png"
    write_png(_side_by_side(panels), path)
    return path


def _hide_inputs(study: Study) -> None:
    inputs = [source.node for sources in study.regions.values() for source in sources] + [study.levels]
    for node in inputs:
        node.CreateDefaultDisplayNodes()
        node.GetDisplayNode().SetVisibility(False)


def _mass_middles(study: Study) -> list[np.ndarray]:
    """World centre of each mass ROI (one per site, the first one's first): the views are centred on the lesions."""
    centres = []
    for source in study.regions["mass"]:
        centre = [0.0, 0.0, 0.0]
        source.node.GetCenter(centre)
        centres.append(np.array(centre))
    return centres


def _sagittal_view(synthetic: SyntheticStudy, mass: np.ndarray, scale: float) -> tuple[tuple[float, float, float], dict]:
    """Where the sagittal views pass and how much they show: the first mass's neighbourhood, or a
    composed field whole (its head-foot extent is well beyond a station's)."""
    t2 = synthetic.sequences["T2"]
    spacing = np.linalg.norm(t2.ijk_to_ras[:3, :3], axis=0)
    extent = t2.image.shape[1] * spacing[1]
    if extent <= 1.5 * SAGITTAL_VIEW["field_of_view_mm"] * scale:
        return (0.0, mass[1], mass[2]), {"size_px": SAGITTAL_VIEW["size_px"], "field_of_view_mm": SAGITTAL_VIEW["field_of_view_mm"] * scale}
    middle = t2.ijk_to_ras[:3] @ np.array([*(np.array(t2.image.shape[::-1]) - 1) / 2, 1.0])
    return (0.0, float(middle[1]), float(middle[2])), {"size_px": COMPOSED_SAGITTAL_PX, "field_of_view_mm": extent}


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
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/cases"))
    parser.add_argument("cases", nargs="*", help="built-in cases (default: all)")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    for case in arguments.cases or case_names():
        path = render_case(case, arguments.out)
        print(f"{path} ({path.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
