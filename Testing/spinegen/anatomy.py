"""The generator's anatomy: a curved column of levels and the cross-sections along its canal.

Everything is laid out along one curve, the spinal canal's axis, by its arc length `s` (mm,
increasing downward from the top of C2's body). At every `s` a frame (U right, V anterior, T
superior) spans the cross-section; `(s, u, v)` are a point's local coordinates. Bodies, discs,
posterior elements, canal, thecal sac, cord and masses are shapes in these coordinates, so they
follow the curve (lordosis, kyphosis, scoliosis) by construction, and bodies wedge with it.

Nothing here is shared with EMHAssistLib/teaching: sizes come from `anatomy.json` (with sources),
the curve and the shapes are this module's own.
"""

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

DS = 0.2  # mm between tabulated points of the curve and of the profiles along it
MARGIN = 80.0  # mm of curve tabulated beyond the top of C2 and the bottom of the last level
_ANTERIOR = np.array([0.0, 1.0, 0.0])


@lru_cache(maxsize=1)
def knowledge() -> dict:
    return json.loads((Path(__file__).with_name("anatomy.json")).read_text(encoding="utf-8"))


def level_names() -> list[str]:
    return [level["name"] for level in knowledge()["levels"]]


def level_code(name: str) -> int:
    """SCT's integer code (C2 = 2, T1 = 8, L1 = 20, S1 = 25), the numbering the report uses."""
    offsets = {"C": 0, "T": 7, "L": 19, "S": 24}
    return offsets[name[0]] + int(name[1:])


@dataclass(frozen=True)
class Level:
    """One vertebra: its body's head-foot extent along the curve and the disc below it."""

    name: str
    body_top: float
    body_bottom: float
    disc_bottom: float
    dims: dict

    @property
    def code(self) -> int:
        return level_code(self.name)

    @property
    def centre_s(self) -> float:
        return 0.5 * (self.body_top + self.body_bottom)


@dataclass
class Curve:
    """The canal axis tabulated every DS mm of arc length, with its frames."""

    s: np.ndarray
    points: np.ndarray
    T: np.ndarray
    U: np.ndarray
    V: np.ndarray
    dT: np.ndarray

    @classmethod
    def from_angles(cls, s: np.ndarray, sagittal_deg: np.ndarray, coronal_deg: np.ndarray, origin: np.ndarray) -> "Curve":
        """A curve whose downward direction tilts forward by `sagittal_deg` and to the right by
        `coronal_deg` at each arc length (0 = straight down the scanner's S axis)."""
        down = np.stack([np.tan(np.radians(coronal_deg)), np.tan(np.radians(sagittal_deg)), -np.ones_like(s)], axis=1)
        down /= np.linalg.norm(down, axis=1, keepdims=True)
        steps = 0.5 * (down[1:] + down[:-1]) * np.diff(s)[:, None]
        points = origin + np.vstack([np.zeros(3), np.cumsum(steps, axis=0)])
        up = -down
        V = _ANTERIOR - (up @ _ANTERIOR)[:, None] * up
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        U = np.cross(V, up)
        dT = np.gradient(up, s, axis=0)
        return cls(s, points, up, U, V, dT)

    def _at(self, table: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(s, self.s, table[:, k]) for k in range(3)], axis=-1)

    def point(self, s: np.ndarray) -> np.ndarray:
        return self._at(self.points, np.asarray(s, float))

    def frame(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = np.asarray(s, float)
        return self._at(self.U, s), self._at(self.V, s), self._at(self.T, s)

    def world(self, s: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        U, V, _ = self.frame(s)
        return self.point(s) + np.asarray(u, float)[..., None] * U + np.asarray(v, float)[..., None] * V

    def local(self, points: np.ndarray, iterations: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(s, u, v) of world points: the nearest point of the curve, by Newton's method on
        (p - c(s)) . T(s) = 0 started from the point's height (the curve never turns past 60 degrees
        from the S axis, and points lie well inside its radius of curvature)."""
        points = np.asarray(points, float)
        z = self.points[:, 2]
        s = np.interp(-points[..., 2], -z, self.s)
        for _ in range(iterations):
            offset = points - self.point(s)
            h = np.einsum("...k,...k->...", offset, self._at(self.T, s))
            slope = 1.0 + np.einsum("...k,...k->...", offset, self._at(self.dT, s))
            s = np.clip(s - h / np.maximum(slope, 0.2), self.s[0], self.s[-1])
        offset = points - self.point(s)
        U, V, _ = self.frame(s)
        return s, np.einsum("...k,...k->...", offset, U), np.einsum("...k,...k->...", offset, V)


@dataclass
class Profiles:
    """Cross-section sizes tabulated along the curve (same `s` as the curve): semi-axes (a: RL,
    b: AP) and centres (cu, cv) in the local frame. `cord_*0` are the healthy cord, `cord_*` the
    cord as painted (narrowed and displaced by a mass). A semi-axis of 0 means absent there."""

    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.values[key]

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        self.values[key] = value


def layout_levels(scale: float, rng: np.random.Generator) -> list[Level]:
    """Levels C2 to S3 stacked down the curve, each dimension jittered by +-4 % per level (vertebrae
    are not identical) and all but the cord's scaled by the case's body size (the cord is scaled
    apart, by its own factor, when the profiles are built)."""
    levels = []
    top = 0.0
    for row in knowledge()["levels"]:
        dims = {
            key: None if value is None else value * (1.0 if key.startswith("cord") else scale) * rng.uniform(0.96, 1.04)
            for key, value in row.items() if key != "name"
        }
        bottom = top + dims["body_h"]
        disc_bottom = bottom + dims["disc_h"]
        levels.append(Level(row["name"], top, bottom, disc_bottom, dims))
        top = disc_bottom
    return levels


def level_table(levels: list[Level], s: np.ndarray, key: str) -> np.ndarray:
    """A dimension along the curve: linear between body centres, constant beyond the end ones."""
    centres = np.array([level.centre_s for level in levels])
    values = np.array([level.dims[key] for level in levels], float)
    return np.interp(s, centres, values)
