"""Render the README's pictures: the built-in case with EMHAssist's overlays in Slicer's own slice views.

The case is analysed as the Slicer module does it (levels, mass and cord segmentation, differential),
the overlays are drawn into the scene, and a sagittal and an axial T2 slice through the mass are
rendered offscreen. The study's own inputs (ROIs, the level points it was given) are hidden so
the pictures show what the analysis drew.

    .venv/bin/python tools/render_readme_images.py [--out docs/images]
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import slicer
from trame_slicer.core import SlicerApp

from EMHAssistLib.analysis import run_analysis
from EMHAssistLib.cases import DEFAULT_CASE, build_study, study_into_scene
from EMHAssistLib.geometry import Labelmap
from EMHAssistLib.overlays import OverlayNodes, draw_overlays
from EMHAssistLib.render import SliceRenderer, SliceShot, write_png
from EMHAssistLib.study import Study

BACKGROUND = "T2"
# Views are centred a little behind the mass, so the labels that run back from it stay in view.
SAGITTAL_VIEW = {"size_px": (440, 520), "field_of_view_mm": 190.0, "shift_back_mm": 25.0}
AXIAL_VIEW = {"size_px": (320, 280), "field_of_view_mm": 90.0, "shift_back_mm": 8.0}


@dataclass
class OverlayScene:
    app: SlicerApp  # owns the logics the views draw through; kept alive with the scene
    study: Study
    report: dict
    overlays: OverlayNodes
    mass: Labelmap


def overlay_scene(case: str = DEFAULT_CASE) -> OverlayScene:
    app = SlicerApp()
    slicer.mrmlScene = app.scene
    study = study_into_scene(build_study(case), app.scene)
    analysis = run_analysis(study)
    report, mass = analysis.report, analysis.mass_mask
    overlays = draw_overlays(app.scene, report, study, mass_mask=mass, cord_mask=analysis.cord_mask)
    _hide_inputs(study)
    return OverlayScene(app, study, report, overlays, mass)


def render_pictures(built: OverlayScene, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    volume = built.study.sequences[BACKGROUND]
    shots = {
        "overlays-sagittal.png": _shot("Sagittal", _mass_bulk(built), SAGITTAL_VIEW),
        "overlays-axial.png": _shot("Axial", _worst_level_centre(built), AXIAL_VIEW),
    }
    with SliceRenderer(built.app.scene) as renderer:
        for name, shot in shots.items():
            write_png(renderer.render(volume, shot), out / name)
    return [out / name for name in shots]


def _hide_inputs(study: Study) -> None:
    inputs = [source.node for sources in study.regions.values() for source in sources] + [study.levels]
    for node in inputs:
        node.CreateDefaultDisplayNodes()
        node.GetDisplayNode().SetVisibility(False)


def _mass_bulk(built: OverlayScene) -> np.ndarray:
    """Mid-sagittal plane of the levels, at the mass's median depth and height."""
    k, j, i = np.nonzero(built.mass.mask)
    points = built.mass.grid.to_world(np.stack([i, j, k], axis=1).astype(float))
    bulk = np.median(points, axis=0)
    bulk[0] = np.median([vertebra["centre"][0] for vertebra in built.report["levels"]["vertebrae"]])
    return bulk


def _worst_level_centre(built: OverlayScene) -> np.ndarray:
    """The axial plane through the body centre of the most compressed level, at the mass's depth."""
    levels = built.report["levels"]
    worst = next(v for v in levels["vertebrae"] if v["name"] == levels["compression"]["at"])
    through = _mass_bulk(built)
    through[2] = worst["centre"][2]
    return through


def _shot(orientation: str, through: np.ndarray, view: dict) -> SliceShot:
    centre = np.array(through, dtype=float)
    centre[1] -= view["shift_back_mm"]
    return SliceShot(orientation, tuple(centre), view["size_px"], view["field_of_view_mm"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    arguments = parser.parse_args()
    for path in render_pictures(overlay_scene(), arguments.out):
        print(f"{path} ({path.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
