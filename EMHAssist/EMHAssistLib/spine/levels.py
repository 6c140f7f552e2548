"""Vertebral levels: points, detection from one anchor, mapping (names and codes: vertebrae.py).

A level is a vertebra; its boundaries are planes through the centres of the discs above and
below it, perpendicular to the spine. Points the user labelled always win; the other bodies are
found along the spine from the marrow/disc alternation of the image, guided by the cord
centreline, and named by counting from the nearest user point.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..geometry import Grid
from ..inputs.plain import PointList, SequenceImage
from ..measurement.regions import robust_sd
from ..report_model import LevelVertebra
from ..settings import DetectionSettings, spine_settings
from .cord import WORLD_SUPERIOR, Centreline, perpendicular_frames, sample_nearest
from .findings import LevelFinding, LevelFindingCode, WalkStop, WalkStopReason
from .vertebrae import code_of, is_valid_code, name_of

_ON_PLANE_MM = 1e-6
# A body the walk placed past the last disc in the field, half a repeat length beyond it, to be kept
# only if the image shows a body there (_edge_bodies_kept); reported as "detected".
EDGE = "edge"


@dataclass(frozen=True)
class Vertebra:
    name: str
    code: int
    centre: np.ndarray  # world RAS
    source: str  # "user", "detected" or "interpolated"

    def reported(self) -> LevelVertebra:
        return LevelVertebra(self.name, self.code, tuple(round(float(c), 2) for c in self.centre), self.source)


@dataclass(frozen=True)
class Boundary:
    """A plane through a disc centre; `normal` points superior."""

    point: np.ndarray
    normal: np.ndarray

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        distance = (points - self.point) @ self.normal
        return np.where(np.abs(distance) < _ON_PLANE_MM, 0.0, distance)


@dataclass(frozen=True)
class LevelMap:
    """Vertebrae from superior to inferior; boundaries[n] is above vertebrae[n], boundaries[n+1] below."""

    vertebrae: list[Vertebra]
    boundaries: list[Boundary]
    warnings: list[LevelFinding] = field(default_factory=list)  # outputs/wording.py words them

    def codes_at(self, points_world: np.ndarray) -> np.ndarray:
        """SCT code of the level each world point lies in, 0 outside every level.

        A point exactly on a disc plane belongs to the level below it.
        """
        points = np.asarray(points_world, float).reshape(-1, 3)
        codes = np.zeros(len(points), dtype=int)
        for n, vertebra in enumerate(self.vertebrae):
            below_upper = self.boundaries[n].signed_distance(points) <= 0
            above_lower = self.boundaries[n + 1].signed_distance(points) > 0
            codes[below_upper & above_lower & (codes == 0)] = vertebra.code
        return codes

    def names_at(self, points_world: np.ndarray) -> list[str | None]:
        return [name_of(int(code)) if code else None for code in self.codes_at(points_world)]

    def height_mm(self, index: int) -> float:
        axis = self.axis(index)
        return float((self.boundaries[index].point - self.boundaries[index + 1].point) @ axis)

    def axis(self, index: int) -> np.ndarray:
        normal = self.boundaries[index].normal + self.boundaries[index + 1].normal
        return normal / np.linalg.norm(normal)

    def involved(self, points_world: np.ndarray, min_fraction: float) -> list[Vertebra]:
        """Vertebrae whose height is covered by the points over at least `min_fraction`.

        The coverage of a level is the head-foot extent of the points inside it over its height;
        the level holding the most points always counts, so a small finding still has a level.
        """
        points = np.asarray(points_world, float).reshape(-1, 3)
        codes = self.codes_at(points)
        chosen: list[Vertebra] = []
        best, best_count = None, 0
        for n, vertebra in enumerate(self.vertebrae):
            inside = points[codes == vertebra.code]
            if len(inside) == 0:
                continue
            along = (inside - vertebra.centre) @ self.axis(n)
            if (along.max() - along.min()) >= min_fraction * self.height_mm(n):
                chosen.append(vertebra)
            if len(inside) > best_count:
                best, best_count = vertebra, len(inside)
        if best is not None and best not in chosen:
            chosen.append(best)
        return sorted(chosen, key=lambda v: v.code)

    def reported(self) -> tuple[LevelVertebra, ...]:
        return tuple(vertebra.reported() for vertebra in self.vertebrae)


# ---------------------------------------------------------------------------------------------
# Points in


def user_vertebrae(points: PointList) -> list[Vertebra]:
    """Vertebrae from a labelled point list; labels must be vertebra names, each used once."""
    subject = points.name or "levels"
    found: dict[int, Vertebra] = {}
    for n, point in enumerate(points.points):
        code = code_of(point.label, f"{subject} point {n + 1}")
        if code in found:
            raise InputError(f"{subject} point {n + 1}", f"{name_of(code)} is labelled twice")
        found[code] = Vertebra(name_of(code), code, point.position, "user")
    return sorted(found.values(), key=lambda v: v.code)


# ---------------------------------------------------------------------------------------------
# Building the map


def settings() -> DetectionSettings:
    return spine_settings().detection


def build_level_map(anchors: list[Vertebra], image: SequenceImage | None, guide: Centreline | None) -> LevelMap:
    """All vertebrae the image shows, from the user's points, with disc-plane boundaries.

    Without an image only the user's points (and those between them) are used.
    """
    if not anchors:
        raise InputError("levels", "no labelled level point; place at least one point on a vertebral body and name it")
    anchors = sorted(anchors, key=lambda v: v.code)
    _check_order(anchors)
    line = SpineLine.through(anchors, guide, image)
    profile = DiscProfile.sample(image, line) if image is not None else None
    warnings: list[LevelFinding] = []
    bodies = _fill_between(anchors)
    if profile is not None:
        in_body = _BodyMarrow(tuple(anchors), image)
        above, below = _walk(bodies[0], line, profile, -1, in_body), _walk(bodies[-1], line, profile, +1, in_body)
        bodies = above.bodies + bodies + below.bodies
        recentred = _on_the_bodies(bodies, in_body, line, thick_slices=False)
        # The thick-slice rule cannot fire on a grid with no spacing that thick: one recentring serves both.
        thick = float(np.max(image.grid.spacing)) >= settings().recentre.thick_slice_mm
        beside_thick_slices = _on_the_bodies(bodies, in_body, line, thick_slices=True) if thick else recentred
        bodies = _edge_bodies_kept(bodies, recentred, in_body)
        warnings += [warning for walk, direction in ((above, -1), (below, +1)) if (warning := _stop_warning(walk, bodies, anchors, line, image, direction))]
    boundaries = _boundaries(bodies, line, profile)
    if profile is not None:
        bodies = _centred_across_thick_slices(bodies, beside_thick_slices)
    if len(bodies) == 1:
        warnings.append(LevelFinding(LevelFindingCode.ONE_VERTEBRA))
    return LevelMap(bodies, boundaries, warnings)


def _check_order(anchors: list[Vertebra]) -> None:
    """Named points must run down the spine in the order of their names (anchors sorted by code);
    swapped labels would otherwise name every level wrongly without a word."""
    for upper, lower in zip(anchors, anchors[1:]):
        if lower.centre @ WORLD_SUPERIOR >= upper.centre @ WORLD_SUPERIOR:
            raise InputError("levels", f"the point labelled {lower.name} is not below the one labelled {upper.name}; the level labels are out of order")


@dataclass(frozen=True)
class SpineLine:
    """A curve through the vertebral bodies, parametrised by arc length (mm, increasing superior)."""

    arc: np.ndarray
    points: np.ndarray
    anchored: tuple[float, float] = (-np.inf, np.inf)  # arc range drawn on the guide or through anchors

    def extrapolated_mm(self, arc: float) -> float:
        """How far `arc` lies beyond the stretch of the line that is drawn on the guide or through anchors."""
        low, high = self.anchored
        return max(low - arc, arc - high, 0.0)

    @classmethod
    def through(cls, anchors: list[Vertebra], guide: Centreline | None, image: SequenceImage | None = None) -> "SpineLine":
        """The guide (the cord centreline) shifted onto the bodies by the anchors beside it, continued
        beyond its ends through the anchors that lie there (the spine goes on below the conus, and
        bends: lordosis, the sacrum), then straight on. A guide shorter than `min_guide_mm` (a cord
        traced over a few slices: the conus at the field's edge, the sac behind a lumbar body) shows
        neither the column's course nor a direction to go on in, and is not followed. Where every
        anchor lies beyond the guide, the shift is read from the image at the guide's ends
        (`_body_depth_beyond`), not from an anchor's offset from the end (`_anchor_offset`)."""
        if guide is None or guide.arc_mm[-1] < settings().min_guide_mm:
            return cls._straight(anchors)
        below, above = (_beyond(anchors, guide, end) for end in (0, -1))
        past = {id(anchor) for anchor in below + above}
        beside = [anchor for anchor in anchors if id(anchor) not in past]
        ends = [end for end, beyond in ((0, below), (-1, above)) if beyond]
        from_image = _body_depth_beyond(guide, ends, anchors, image) if not beside and image is not None else None
        right_offset, anterior_offset = (0.0, from_image) if from_image is not None else _anchor_offset(beside or anchors, guide)
        guide_arc = guide.arc_mm
        frames = [guide.frame(n) for n in range(len(guide.points))]
        points = np.array([p + right_offset * r + anterior_offset * a for p, (r, a) in zip(guide.points, frames)])
        return cls._extended(guide_arc, points, guide.tangents, below, above)

    @classmethod
    def _straight(cls, anchors: list[Vertebra]) -> "SpineLine":
        """Without a cord to follow: through the labelled points in order, then straight on beyond the
        outermost ones along the leg to each (head-foot through a single point). A straight line
        through the first and last of several points leaves the bodies between and beyond them where
        the column bends: on generated seed 41 (anchors L3-L5 on a lordosis) it ran 12-17 mm in front
        of L2 and S1."""
        reach, step = settings().straight_line_reach_mm, settings().extension_step_mm
        inferior = anchors[-1].centre
        upward = [anchor.centre for anchor in anchors[-2::-1]]
        down = _unit(inferior - anchors[-2].centre) if len(anchors) > 1 else -WORLD_SUPERIOR
        up, _ = _continuation(inferior, WORLD_SUPERIOR, upward, reach)
        below, _ = _continuation(inferior, down, [], reach)
        points = np.concatenate([below[::-1], inferior[None, :], up])
        return cls((np.arange(len(points)) - len(below)) * step, points)

    @classmethod
    def _extended(cls, arc: np.ndarray, points: np.ndarray, tangents: np.ndarray, below: list[Vertebra], above: list[Vertebra]) -> "SpineLine":
        """The guide continued beyond each end through the anchors there (nearest first), then
        straight on: the spine goes on where the cord stops."""
        straight, step = settings().extension_mm, settings().extension_step_mm
        lower, lower_legs = _continuation(points[0], -tangents[0], [anchor.centre for anchor in below], straight)
        upper, upper_legs = _continuation(points[-1], tangents[-1], [anchor.centre for anchor in above], straight)
        return cls(
            np.concatenate([arc[0] - np.arange(len(lower), 0, -1) * step, arc, arc[-1] + np.arange(1, len(upper) + 1) * step]),
            np.concatenate([lower[::-1], points, upper]),
            (float(arc[0] - lower_legs), float(arc[-1] + upper_legs)),
        )

    def arc_of(self, point: np.ndarray) -> float:
        return float(self.arc[int(np.argmin(np.linalg.norm(self.points - point, axis=1)))])

    def at(self, arc: float) -> np.ndarray:
        return np.array([np.interp(arc, self.arc, self.points[:, axis]) for axis in range(3)])

    def direction_at(self, arc: float) -> np.ndarray:
        baseline = settings().direction_baseline_mm
        ahead, behind = self.at(arc + baseline), self.at(arc - baseline)
        direction = ahead - behind
        return direction / np.linalg.norm(direction)


@dataclass(frozen=True)
class DiscProfile:
    """Image signal along the spine line, averaged over a small patch across it."""

    arc: np.ndarray
    values: np.ndarray  # nan outside the field of view

    @classmethod
    def sample(cls, image: SequenceImage, line: SpineLine) -> "DiscProfile":
        config = settings()
        half_rl, half_ap = config.profile_half_width_mm
        step = config.profile_step_mm
        arc = np.arange(line.arc[0], line.arc[-1] + step / 2, step)
        centres = np.stack([np.interp(arc, line.arc, line.points[:, axis]) for axis in range(3)], axis=1)
        tangents = np.gradient(centres, axis=0)
        tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
        across_rl, across_ap = config.profile_samples
        offsets = [(r, a) for r in np.linspace(-half_rl, half_rl, across_rl) for a in np.linspace(-half_ap, half_ap, across_ap)]
        frames = perpendicular_frames(tangents)
        patches = np.array([[centre + r * right + a * anterior for r, a in offsets] for centre, (right, anterior) in zip(centres, frames)])
        samples = sample_nearest(image, patches.reshape(-1, 3)).reshape(len(arc), len(offsets))
        values = np.where(np.isnan(samples).any(axis=1), np.nan, np.nan_to_num(samples).mean(axis=1))
        return cls(arc, _smooth_nan(values, config.profile_smoothing_mm / step))

    def window(self, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        inside = (self.arc >= lo) & (self.arc <= hi) & ~np.isnan(self.values)
        return self.arc[inside], self.values[inside]

    def covers(self, lo: float, hi: float) -> bool:
        inside = (self.arc >= lo) & (self.arc <= hi)
        return bool(inside.any()) and not np.isnan(self.values[inside]).any()


def _beyond(anchors: list[Vertebra], guide: Centreline, end: int) -> list[Vertebra]:
    """Anchors lying clearly beyond one end of the guide (end 0: inferior, -1: superior), nearest
    first; one within `anchor_beyond_guide_mm` of the end is taken as beside it."""
    outward = -guide.tangents[0] if end == 0 else guide.tangents[-1]
    reach = {id(anchor): float((anchor.centre - guide.points[end]) @ outward) for anchor in anchors}
    beyond = [anchor for anchor in anchors if reach[id(anchor)] > settings().anchor_beyond_guide_mm]
    return sorted(beyond, key=lambda anchor: reach[id(anchor)])


def _anchor_offset(anchors: list[Vertebra], guide: Centreline) -> tuple[float, float]:
    """The anchors' mean offset (right, anterior) from the nearest point of the guide, in its frame."""
    offsets = []
    for anchor in anchors:
        index = int(np.argmin(np.linalg.norm(guide.points - anchor.centre, axis=1)))
        right, anterior = guide.frame(index)
        offset = anchor.centre - guide.points[index]
        offsets.append((offset @ right, offset @ anterior))
    right_offset, anterior_offset = np.mean(offsets, axis=0)
    return float(right_offset), float(anterior_offset)


def _body_depth_beyond(guide: Centreline, ends: list[int], anchors: list[Vertebra], image: SequenceImage) -> float | None:
    """How far in front of the cord the bodies lie, read from the image along the last
    `cord_end_stretch_mm` of the guide at each end in `ends` (the median of `_body_depth` over its
    points), for a guide with every anchor beyond those ends; None where no point shows a body.
    An anchor far beyond the cord's end is no measure of the bodies' offset beside the cord: its
    offset from the end holds the column's bend over the distance between them. On generated
    seed 225 (T9, 89 mm below the cord's end on a kyphosis) it put the line 25 mm in front of
    the bodies, no repeat showed and none of T1-T8 was found; on seed 255 (T4-T7 below the cord's
    end, a scoliosis) 21 mm to the side, and C4-T3 were named 13-30 mm off."""
    signal = _marrow_signal([anchor.centre for anchor in anchors], image)
    if signal is None or not ends:
        return None
    arc = guide.arc_mm
    stretch = settings().cord_end_stretch_mm
    near = [n for n in range(len(arc)) if any(abs(arc[n] - arc[end]) <= stretch for end in ends)]
    depths = [depth for n in near if (depth := _body_depth(guide.points[n], guide.tangents[n], guide.frame(n), image, signal)) is not None]
    return float(np.median(depths)) if depths else None


def _body_depth(point: np.ndarray, tangent: np.ndarray, frame: tuple[np.ndarray, np.ndarray], image: SequenceImage, signal: "MarrowSignal") -> float | None:
    """The middle of the first run of marrow signal in front of the cord at `point`, as its distance
    in front (mm): read straight forward for `body_depth_search_mm` every `profile_step_mm` (the
    disc profile's step; a run is `recentre.min_run_mm` long whatever the step), each sample averaged over a
    band across the ray as `_recentred` reads; the run holding the cord's centre (the cord reads
    like marrow on some T2s) is passed over, and a run cut by the search's or the field's end has
    no middle to go by."""
    config = settings()
    right, anterior = frame
    band, step = config.recentre.band_mm, config.profile_step_mm
    forward = np.arange(0.0, config.body_depth_search_mm + step / 2, step)
    spread = np.array([(first, second) for first in (-band, 0.0, band) for second in (-band, 0.0, band)])
    points = point + forward[:, None, None] * anterior + spread[None, :, :1] * right + spread[None, :, 1:] * tangent
    samples = sample_nearest(image, points.reshape(-1, 3)).reshape(len(forward), len(spread))
    inside = np.isfinite(samples).all(axis=1)
    values = np.where(inside, np.nan_to_num(samples).mean(axis=1), np.nan)
    marrow = inside & (np.abs(values - signal.level) <= signal.half_width)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], marrow.astype(int), [0]])))
    for first, last in zip(edges[::2], edges[1::2] - 1):
        if first == 0 or forward[last] - forward[first] < config.recentre.min_run_mm:
            continue
        if last + 1 >= len(forward) or not inside[last + 1]:
            return None
        return float((forward[first] + forward[last]) / 2)
    return None


def spine_past_cord(anchors: list[Vertebra], guide: Centreline) -> np.ndarray:
    """Points every `extension_step_mm` from each end of the cord centreline through the labelled
    bodies lying beyond it (the spine goes on below the conus, and bends); (0, 3) when none does."""
    legs = [
        _continuation(guide.points[end], guide.tangents[end], [anchor.centre for anchor in beyond], 0.0)[0]
        for end in (0, -1)
        if (beyond := _beyond(anchors, guide, end))
    ]
    return np.concatenate(legs) if legs else np.zeros((0, 3))


def _continuation(start: np.ndarray, direction: np.ndarray, through: list[np.ndarray], straight_mm: float) -> tuple[np.ndarray, float]:
    """Points every `extension_step_mm` from `start` (excluded) through `through` in order, then
    straight on for `straight_mm` along the last leg (along `direction` when there is none); and
    the length of the legs through `through`."""
    nodes = np.array([start, *through])
    lengths = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(nodes, axis=0), axis=1))])
    step = settings().extension_step_mm
    along = np.arange(step, lengths[-1] + straight_mm + step / 2, step)
    on_legs = along <= lengths[-1]
    legs = np.stack([np.interp(along[on_legs], lengths, nodes[:, axis]) for axis in range(3)], axis=1)
    last = _unit(nodes[-1] - nodes[-2]) if len(nodes) > 1 else direction
    straight = nodes[-1] + (along[~on_legs] - lengths[-1])[:, None] * last
    return np.concatenate([legs, straight]), float(lengths[-1])


def _smooth_nan(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing that ignores nan samples and leaves them nan."""
    radius = max(1, int(np.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    valid = ~np.isnan(values)
    filled = np.where(valid, values, 0.0)
    total = np.convolve(filled, kernel, mode="full")[radius:radius + len(values)]
    weight = np.convolve(valid.astype(float), kernel, mode="full")[radius:radius + len(values)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, total / weight, np.nan)


def _fill_between(anchors: list[Vertebra]) -> list[Vertebra]:
    """User points plus evenly spaced bodies where the user skipped levels between two points."""
    bodies = [anchors[0]]
    for upper, lower in zip(anchors, anchors[1:]):
        gap = lower.code - upper.code
        for n in range(1, gap):
            position = upper.centre + n / gap * (lower.centre - upper.centre)
            bodies.append(Vertebra(name_of(upper.code + n), upper.code + n, position, "interpolated"))
        bodies.append(lower)
    return bodies


def _repeat_length(profile: DiscProfile, centre: float, regions: frozenset[str]) -> float | None:
    """The vertebral repeat length (body + disc, mm) near `centre`, from the profile's autocorrelation,
    within the ranges of the regions (`regions`: their letters, C, T, L or S) the bodies at `centre` belong to: in a window of
    `period_window_mm` either side, or twice that where the near window is too short or shows no
    repeat (its stretch of the line is irregular: the cord displaced by a mass there shifts the line
    off the bodies and stretches it)."""
    half = settings().period_window_mm
    near_least, wide_least = settings().period_least_repeats
    for reach, least_lags in ((half, near_least), (2 * half, wide_least)):
        arc, values = profile.window(centre - reach, centre + reach)
        found = _autocorrelation_peak(arc, values, regions, least_lags)
        if found is not None:
            return found
    return None


def _autocorrelation_peak(arc: np.ndarray, values: np.ndarray, regions: frozenset[str], least_lags: float) -> float | None:
    """The shortest lag within the regions' ranges (`regions`: their letters) whose autocorrelation peak reaches
    `period_peak_fraction` of the strongest; None when the window holds under `least_lags` times the
    longest lag or no positive peak."""
    config = settings()
    lo_lag, hi_lag = min(config.period_range_mm[letter][0] for letter in regions), max(config.period_range_mm[letter][1] for letter in regions)
    step = config.profile_step_mm
    if len(values) < least_lags * hi_lag / step:
        return None
    detrended = values - np.polyval(np.polyfit(arc, values, 2), arc)
    lags = np.arange(int(lo_lag / step), int(hi_lag / step) + 1)
    correlation = np.array([_correlation(detrended[:-lag], detrended[lag:]) for lag in lags])
    peaks = [n for n in range(1, len(lags) - 1) if correlation[n] >= correlation[n - 1] and correlation[n] >= correlation[n + 1] and correlation[n] > 0]
    if not peaks:
        return None
    strongest = max(correlation[n] for n in peaks)
    first = next(n for n in peaks if correlation[n] >= config.period_peak_fraction * strongest)
    return float(lags[first] * step)


def _regions_of_first_step(start: Vertebra, direction: int) -> frozenset[str]:
    """The regions (letters) whose repeat-length ranges the walk's first step may lie in: the start's
    and the next body's, which differ at a region's end (the step from T12 to L1 is a lumbar one as
    much as a thoracic one; the seed that showed it: data/levels.json's period_reason)."""
    following = start.code + direction
    return frozenset({start.name[0], name_of(following)[0]} if is_valid_code(following) else {start.name[0]})


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


@dataclass(frozen=True)
class Walk:
    """The bodies a walk found beyond its start (in code order); the warning it stopped with, where
    the image goes on but the line cannot be trusted or the sacrum is fused; why it stopped, to name
    in a warning when levels the field holds were not found; the repeat length it walked by (None
    when the image showed none)."""

    bodies: list[Vertebra]
    warning: LevelFinding | None
    why: WalkStop
    period: float | None


def _walk(start: Vertebra, line: SpineLine, profile: DiscProfile, direction: int, in_body: "_BodyMarrow") -> Walk:
    """Bodies beyond `start`, one disc at a time (direction -1: superior, +1: inferior, in code order),
    and a warning when the walk stopped where the image goes on but the line cannot be trusted.

    A body farther than `max_extrapolation_mm` from where the line is anchored (the cord and the
    labelled points beyond it) is taken only where the line's point for it lies in marrow like the
    labelled bodies' (`in_body`): there the straight line may have left the bodies (the spine bends
    into the lordosis and the sacrum), its departures from the body signal need not be discs, and
    counting them would name levels that are not there; the walk stops at the first such body off the
    column (data/levels.json's max_extrapolation_reason). Nor is a disc between two fused segments
    (the sacrum's) counted: it is vestigial, and the walk would take the next dip for it.

    The next disc is sought one repeat length on, checked against the repeat length read again around
    each body placed (`_repeat_length`, in the region of that body), not the last step alone: a step taken short (an
    endplate's dip taken for the disc) shortened the next expected one, and steps shortened in turn
    ran away (generated seed 90, axial 3.7 mm: steps from 20 mm at T1 down to 10 mm, T9 57 mm off).
    The step is kept where it agrees with that repeat (`_walked_period`).
    """
    config = settings()
    period = _repeat_length(profile, line.arc_of(start.centre), _regions_of_first_step(start, direction))
    if period is None:
        return Walk([], None, WalkStop(WalkStopReason.NO_REPEAT, direction, start.name), None)
    sign = -direction  # arc grows superior, codes grow inferior
    anchor_arc = line.arc_of(start.centre)
    body_level, spread = _body_signal(profile, anchor_arc, period)
    if spread <= 0:
        return Walk([], None, WalkStop(WalkStopReason.UNIFORM, direction, start.name), period)
    disc = _find_disc(profile, anchor_arc, sign, period / 2, period, body_level, spread)
    found: list[Vertebra] = []
    code = start.code
    while disc is not None and is_valid_code(code + direction):
        if min(code, code + direction) >= code_of(config.fused_from):
            fused = WalkStop(WalkStopReason.FUSED, direction, start.name)
            return Walk(_in_code_order(found, direction), LevelFinding(LevelFindingCode.WALK_STOPPED, fused, name_of(code)), fused, period)
        extrapolated = WalkStop(WalkStopReason.EXTRAPOLATED, direction, start.name, config.max_extrapolation_mm)
        too_far = LevelFinding(LevelFindingCode.WALK_STOPPED, extrapolated, name_of(code))
        if _off_the_column(line, disc + sign * period / 2, in_body):
            goes_on = profile.covers(*sorted((disc, disc + sign * period)))  # else the field ends here anyway
            return Walk(_in_code_order(found, direction), too_far if goes_on else None, extrapolated, period)
        next_disc = _find_disc(profile, disc, sign, period, period, body_level, spread)
        if next_disc is None:
            if _field_ends_past_body(profile, disc, sign, period):
                code += direction
                found.append(Vertebra(name_of(code), code, line.at(disc + sign * period / 2), EDGE))
            break
        if _off_the_column(line, (disc + next_disc) / 2, in_body):
            return Walk(_in_code_order(found, direction), too_far, extrapolated, period)
        period = _walked_period(profile, disc, next_disc, period, frozenset({name_of(code + direction)[0]}), direction)
        code += direction
        found.append(Vertebra(name_of(code), code, line.at((disc + next_disc) / 2), "detected"))
        disc = next_disc
    return Walk(_in_code_order(found, direction), None, WalkStop(WalkStopReason.NO_DISC, direction, start.name), period)


def _off_the_column(line: SpineLine, arc: float, in_body: "_BodyMarrow") -> bool:
    """Whether a body at `arc` lies past `max_extrapolation_mm` of the line's anchored stretch with
    the line's point there outside marrow like the labelled bodies' (or no marrow to compare with)."""
    if line.extrapolated_mm(arc) <= settings().max_extrapolation_mm:
        return False
    return not in_body.holds(line.at(arc))


def _walked_period(profile: DiscProfile, disc: float, next_disc: float, period: float, regions: frozenset[str], direction: int) -> float:
    """The repeat length to seek the next disc by, after a body placed between `disc` and `next_disc`:
    the step just taken (clamped to `period_change_limit` of the last) where it agrees with the repeat
    length read again around that body, else that repeat. Agreeing is within `period_change_limit` of
    the repeat or of half of it (the column also repeats every two vertebrae), but going caudally not
    shorter than it (bodies grow caudally). The repeat is read only in the near window
    (`period_window_mm` either side, with its `period_least_repeats`) and only where the whole window
    lies in the field. Why each of these holds, with the generated seeds that showed it:
    data/levels.json's `period_change_reason`."""
    low_change, high_change = settings().period_change_limit
    step = float(np.clip(abs(next_disc - disc), low_change * period, high_change * period))
    middle, half = (disc + next_disc) / 2, settings().period_window_mm
    if not profile.covers(middle - half, middle + half):
        return step
    repeat = _autocorrelation_peak(*profile.window(middle - half, middle + half), regions, settings().period_least_repeats[0])
    if repeat is None:
        return step
    agrees = any((length if direction > 0 else low_change * length) <= step <= high_change * length for length in (repeat, repeat / 2))
    return step if agrees else repeat


def _stop_warning(walk: Walk, bodies: list[Vertebra], anchors: list[Vertebra], line: SpineLine, image: SequenceImage, direction: int) -> LevelFinding | None:
    """The walk's own warning, or, where levels within `levels_named_from_anchor` of the outermost
    labelled point that way were not placed though the field of view holds them, a warning naming
    them and why the walk stopped: a level left unnamed is never silent."""
    missing = _missing_beyond(bodies, anchors[0] if direction < 0 else anchors[-1], line, image, direction, walk.period)
    if not missing:
        return walk.warning
    last = bodies[0] if direction < 0 else bodies[-1]
    return LevelFinding(LevelFindingCode.LEVELS_MISSED, walk.why, last.name, tuple(missing))


def _missing_beyond(bodies: list[Vertebra], anchor: Vertebra, line: SpineLine, image: SequenceImage, direction: int, period: float | None) -> list[str]:
    """Names of the levels within `levels_named_from_anchor` of `anchor`, beyond the outermost body
    placed in `direction` (-1 superior, +1 inferior), whose whole bodies lie within the field of
    view's extent along the spine if the column goes on as it did: spaced as the last two bodies (else
    by the walk's repeat length, else the region's typical height), in their direction, each body
    reaching `named_body_cover` - 0.5 of that spacing past its centre (its whole body). The field is
    measured along the spine only: a column that leaves a narrow sagittal slab sideways still goes
    on, and a level named here in excess costs a line of warning, one missed the report's silence.
    The fused sacral segments, which detection never counts, are left out."""
    config = settings()
    ordered = bodies if direction > 0 else bodies[::-1]
    last = ordered[-1]
    if len(ordered) > 1:
        outward = last.centre - ordered[-2].centre
        step = float(np.linalg.norm(outward))
        outward = outward / step
    else:
        outward = line.direction_at(line.arc_of(last.centre)) * -direction  # arc grows superior, codes inferior
        step = period or spine_settings().typical_height_mm[last.name[0]]
    reach = _field_reach_mm(image.grid, last.centre, outward)
    missing = []
    for count in range(1, config.levels_named_from_anchor + 1):
        code = last.code + direction * count
        if abs(code - anchor.code) > config.levels_named_from_anchor or not is_valid_code(code) or code > code_of(config.fused_from):
            break
        if (count + config.named_body_cover - 0.5) * step > reach:
            break
        missing.append(name_of(code))
    return missing


def _field_reach_mm(grid: Grid, point: np.ndarray, outward: np.ndarray) -> float:
    """How far the field of view goes on from `point` along `outward`, on the grid axis nearest
    `outward` (the stack's head-foot axis, oblique or not). Not the farthest corner of the field along
    `outward`: where the column tilts even a little, a corner far in front of or behind it lies far
    along it too. On SCT's cervical t2 from a C5 point (the field 60 mm front to back, its top 10.5 mm
    above C3's centre) the corners lay 20.4 mm along the column (7 degrees off head-foot) past the C3
    found, the top edge 14.3 mm, and C2 was named as held though only C3's upper disc is in view."""
    axis, cosine = _nearest_grid_axis(grid, outward)
    edge = grid.size_ijk[axis] - 0.5 if cosine > 0 else -0.5
    return float((edge - grid.to_ijk(point[None])[0][axis]) * grid.spacing[axis] / cosine)


def _field_ends_past_body(profile: DiscProfile, disc: float, sign: int, period: float) -> bool:
    """Whether the disc profile ends beyond `disc` after holding the middle of a body past it
    (`edge_body_cover` repeat lengths; the profile ends before the field does, data/levels.json's
    edge_body_reason) but before the next disc: the last body in the field has no disc beyond it to
    be placed between."""
    held = settings().edge_body_cover * period
    return profile.covers(*sorted((disc, disc + sign * held))) and not profile.covers(*sorted((disc, disc + sign * settings().next_disc_repeats * period)))


def _on_the_bodies(bodies: list[Vertebra], in_body: "_BodyMarrow", line: SpineLine, thick_slices: bool) -> list[Vertebra]:
    """Detected and interpolated bodies moved across the spine line onto the middle of the body the
    image shows there: the line is the cord shifted by the anchor's offset (or straight beyond it),
    and the column bends away from it (lordosis, kyphosis, scoliosis), so its points sit in front of,
    behind or beside the bodies. Bodies are placed outwards from the user's points, each starting
    from its own point on the line shifted across it as far as its inner neighbour was: the column
    departs from the line gradually, a few millimetres a level, so the search starts near the body
    even where the line has left it by more than a body's depth. The user's points stay where they are.
    With `thick_slices`, side to side across thick slices the run is kept to the marrow's side of the
    profile (`_recentred`)."""
    signal, image = in_body.signal, in_body.image
    if signal is None:
        return bodies
    users = [n for n, body in enumerate(bodies) if body.source == "user"]
    if not users:
        return bodies
    shifts = {n: np.zeros(3) for n in users}
    centres = {n: bodies[n].centre for n in users}
    for n in sorted(range(len(bodies)), key=lambda n: min(abs(n - user) for user in users)):
        if n in shifts:
            continue
        nearest = min(users, key=lambda user: abs(n - user))
        inner = n + 1 if nearest > n else n - 1
        axis = line.direction_at(line.arc_of(bodies[n].centre))
        centre = bodies[n].centre + shifts[inner] - (shifts[inner] @ axis) * axis
        spacing = _spacing(bodies, n)
        placed = centre
        for _ in range(settings().recentre.passes):
            centre = _recentred(centre, line.direction_at(line.arc_of(centre)), image, signal, spacing, placed, thick_slices)
        centres[n], shifts[n] = centre, centre - bodies[n].centre
    return [Vertebra(body.name, body.code, centres[n], body.source) for n, body in enumerate(bodies)]


def _centred_across_thick_slices(bodies: list[Vertebra], beside_thick_slices: list[Vertebra]) -> list[Vertebra]:
    """`bodies` (kept, and their disc planes drawn, from recentring as before) reported at the centres
    recentred with the thick-slice side-to-side rule (`beside_thick_slices`, by name). The planes stay
    on the centres recentred without it: a body moved a few millimetres sideways tilts the two planes
    whose normals its centre sets and moves the disc windows, and that moved the mass's levels on
    generated seeds 46 and 87 and a compression's on 154 and 222 (data/levels.json's
    side_contrast_reason)."""
    centres = {body.name: body.centre for body in beside_thick_slices}
    return [Vertebra(body.name, body.code, centres.get(body.name, body.centre), body.source) for body in bodies]


def _edge_bodies_kept(placed: list[Vertebra], bodies: list[Vertebra], in_body: "_BodyMarrow") -> list[Vertebra]:
    """The bodies placed past the last disc at either end of the field (`placed`, then recentred:
    `bodies`), kept (as "detected") where the image shows a body: marrow like the user's bodies'
    around the recentred point (`_is_marrow`), still at least half the placed distance from the
    inner neighbour (recentring did not pull it back onto that body); else left out (soft tissue,
    or a disc, beyond the column's end or the field's)."""
    kept = []
    for n, body in enumerate(bodies):
        if body.source != EDGE:
            kept.append(body)
            continue
        inner = n + 1 if n == 0 else n - 1
        placed_apart = float(np.linalg.norm(placed[n].centre - placed[inner].centre))
        apart = float(np.linalg.norm(body.centre - bodies[inner].centre))
        if in_body.holds(body.centre) and apart >= settings().edge_body_min_spacing * placed_apart:
            kept.append(Vertebra(body.name, body.code, body.centre, "detected"))
    return kept


@dataclass(frozen=True)
class MarrowSignal:
    """Body marrow's signal as read in a cube: its median, its robust SD (noise and texture) and the
    half-width of the window of signals taken as like it."""

    level: float
    sd: float
    half_width: float


@dataclass(frozen=True)
class _BodyMarrow:
    """The labelled bodies' marrow signal in the image, to tell whether a point lies in a body: read
    once, when first asked for (the walk asks only past `max_extrapolation_mm` of the anchored line;
    placing the bodies on the image and keeping the edge bodies ask for it after), not once for each."""

    anchors: tuple[Vertebra, ...]
    image: SequenceImage

    @cached_property
    def signal(self) -> MarrowSignal | None:
        return _marrow_signal([anchor.centre for anchor in self.anchors], self.image)

    def holds(self, point: np.ndarray) -> bool:
        """Whether the cube around `point` reads as marrow like the labelled bodies' (`_is_marrow`);
        never where the labelled bodies give no marrow to compare with."""
        if self.signal is None:
            return False
        local = _marrow_signal([point], self.image)
        return local is not None and _is_marrow(local, self.signal)


def _marrow_signal(centres: list[np.ndarray], image: SequenceImage) -> MarrowSignal | None:
    """The body marrow's signal read in a cube at each centre."""
    config = settings().recentre
    half = config.marrow_sample_mm / 2
    steps = np.arange(-half, half + 1e-9, 1.0)
    cube = np.array([(x, y, z) for x in steps for y in steps for z in steps])
    values = sample_nearest(image, np.concatenate([centre + cube for centre in centres]))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    level = float(np.median(values))
    sd = robust_sd(values, level)
    return MarrowSignal(level, sd, max(config.window_fraction * abs(level), config.window_sd * sd))


def _local_signal(centre: np.ndarray, image: SequenceImage, signal: MarrowSignal) -> MarrowSignal:
    """The marrow signal read at `centre` itself when it is like the user's bodies' within
    `local_agreement` (marrow differs from body to body: on t2_lumbar L2 reads 30 % darker than
    L1) and no more spread than `local_sd_ratio` times theirs (a cube inside one tissue has its
    noise and texture; one across a body's edge the difference of two tissues), else theirs (the
    point lies off the body)."""
    local = _marrow_signal([centre], image)
    return local if local is not None and _is_marrow(local, signal) else signal


def _is_marrow(local: MarrowSignal, signal: MarrowSignal) -> bool:
    """Whether a cube's reading is body marrow like the user's bodies' `signal`: its level within
    `local_agreement` of theirs and its spread at most `local_sd_ratio` times theirs."""
    config = settings().recentre
    return abs(local.level - signal.level) <= config.local_agreement * abs(signal.level) and local.sd <= config.local_sd_ratio * signal.sd


def _spacing(bodies: list[Vertebra], n: int) -> float:
    """The mean distance from body `n` to its neighbours in the list: its repeat length (body and disc)."""
    neighbours = [bodies[m].centre for m in (n - 1, n + 1) if 0 <= m < len(bodies)]
    return float(np.mean([np.linalg.norm(bodies[n].centre - other) for other in neighbours]))


def _recentred(centre: np.ndarray, axis: np.ndarray, image: SequenceImage, signal: MarrowSignal, spacing_mm: float, placed: np.ndarray, thick_slices: bool) -> np.ndarray:
    """`centre` moved to the middle of the run of marrow signal through it, front to back, then side
    to side in the plane across `axis`, then head to foot along it between the endplates (each
    sample averaged over a small band across the run, so one bright or dark voxel neither ends nor
    joins a run). The walk puts a body midway between two discs, and bodies between labelled points
    are spaced evenly, while bodies grow from one to the next: a few millimetres off in height. A run
    along the axis longer than `longest_run_repeats` of the body's repeat length (`spacing_mm`) is two
    bodies joined across a disc the image does not resolve (a thick slice across it), and has no
    middle to go by; a middle farther than `max_along_repeats` of it from where the body was
    `placed` is the neighbour's. With `thick_slices`, across slices `thick_slice_mm` thick or more (a sagittal stack's
    side to side) each sample is averaged over a wider patch (`thick_band_mm`) and the run is kept
    to the marrow's side of the profile (`_on_the_marrow_side`): data/levels.json's side_contrast_reason."""
    config = settings().recentre
    longest_along_mm = config.longest_run_repeats * spacing_mm
    right, anterior = perpendicular_frames(axis[None, :])[0]
    reach, band = config.search_mm, config.band_mm
    along = np.arange(-reach, reach + 1e-9, 1.0)
    spread = np.array([(first, second) for first in (-band, 0.0, band) for second in (-band, 0.0, band)])
    thick_across = thick_slices and _slice_thickness_mm(image.grid, right) >= config.thick_slice_mm
    wide = np.arange(-config.thick_band_mm, config.thick_band_mm + 1e-9, 1.0)
    thick_patch = np.array([(first, second) for first in wide for second in wide])
    for direction, across, other in ((anterior, right, axis), (right, anterior, axis), (axis, right, anterior)):
        patch = thick_patch if direction is right and thick_across else spread
        points = centre + along[:, None, None] * direction + patch[None, :, :1] * across + patch[None, :, 1:] * other
        samples = sample_nearest(image, points.reshape(-1, 3)).reshape(len(along), len(patch))
        inside = np.isfinite(samples)
        values = np.where(inside.any(axis=1), np.where(inside, samples, 0.0).sum(axis=1) / np.maximum(inside.sum(axis=1), 1), np.nan)
        local = _local_signal(centre, image, signal)
        marrow = np.abs(values - local.level) <= local.half_width
        if direction is right and thick_across:
            marrow &= _on_the_marrow_side(values, local.level)
        run = _run_nearest(marrow, int(reach), int(config.max_gap_mm), int(config.min_run_mm) + 1)
        if run is None:
            continue
        # A run cut by the field of view (a sagittal study narrower than the body) or by the search
        # reach has no middle to go by.
        ends = (run[0] - 1, run[1] + 1)
        moved = centre + (along[run[0]] + along[run[1]]) / 2 * direction
        joined = direction is axis and along[run[1]] - along[run[0]] > longest_along_mm
        neighbours = direction is axis and abs((moved - placed) @ axis) > config.max_along_repeats * spacing_mm
        if not joined and not neighbours and all(0 <= end < len(values) and np.isfinite(values[end]) for end in ends):
            centre = moved
    return centre


def _slice_thickness_mm(grid: Grid, direction: np.ndarray) -> float:
    """The spacing of the grid axis nearest `direction`: the slice thickness, across a stack's slices."""
    return float(grid.spacing[_nearest_grid_axis(grid, direction)[0]])


def _nearest_grid_axis(grid: Grid, direction: np.ndarray) -> tuple[int, float]:
    """The grid axis (0 i, 1 j, 2 k) nearest the unit `direction`, and the cosine between them."""
    cosines = (grid.ijk_to_world[:3, :3] / grid.spacing).T @ direction
    axis = int(np.argmax(np.abs(cosines)))
    return axis, float(cosines[axis])


def _on_the_marrow_side(values: np.ndarray, level: float) -> np.ndarray:
    """Where the side-to-side profile lies on the marrow's side of the cut that best splits its values
    into two groups (the largest between-group variance, Otsu's), when the groups' means differ by at
    least `side_contrast` of the marrow `level` (else everywhere): the tissue beside a body can read
    within the marrow window, and across thick sagittal slices the run of marrow-like samples then
    runs on beside the body (data/levels.json's side_contrast_reason)."""
    finite = np.sort(values[np.isfinite(values)])
    n = finite.size
    if n < 2:
        return np.ones(values.shape, bool)
    below = np.arange(1, n)
    low_mean = np.cumsum(finite)[:-1] / below
    high_mean = (finite.sum() - np.cumsum(finite)[:-1]) / (n - below)
    best = int(np.argmax(below * (n - below) * (high_mean - low_mean) ** 2))
    if high_mean[best] - low_mean[best] < settings().recentre.side_contrast * abs(level):
        return np.ones(values.shape, bool)
    cut = (finite[best] + finite[best + 1]) / 2
    marrow_high = abs(high_mean[best] - level) < abs(low_mean[best] - level)
    with np.errstate(invalid="ignore"):  # nan (outside the field) is on neither side
        return values > cut if marrow_high else values <= cut


def _run_nearest(flags: np.ndarray, middle: int, reach: int, min_length: int) -> tuple[int, int] | None:
    """(first, last) index of the run of True in `flags` at least `min_length` long that holds
    `middle`, or else the nearest such run starting within `reach` of it; shorter runs (a noisy
    voxel or two like the marrow, outside the body or inside it) are passed over."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(int), [0]])))
    runs = [(int(first), int(last) - 1) for first, last in zip(edges[::2], edges[1::2]) if last - first >= min_length]
    gaps = [max(first - middle, middle - last, 0) for first, last in runs]
    if not runs or min(gaps) > reach:
        return None
    return runs[int(np.argmin(gaps))]


def _in_code_order(found: list[Vertebra], direction: int) -> list[Vertebra]:
    return found[::-1] if direction < 0 else found


def _body_signal(profile: DiscProfile, anchor_arc: float, period: float) -> tuple[float, float]:
    config = settings()
    half_body, half_around = config.body_sample_fraction * period, config.body_spread_fraction * period
    _, body = profile.window(anchor_arc - half_body, anchor_arc + half_body)
    _, around = profile.window(anchor_arc - half_around, anchor_arc + half_around)
    if body.size == 0 or around.size == 0:
        return 0.0, 0.0
    level = float(np.median(body))
    return level, float(np.sqrt(np.mean((around - level) ** 2)))


def _find_disc(profile: DiscProfile, origin: float, sign: int, expected: float, period: float, body_level: float, spread: float) -> float | None:
    """Arc of the disc expected `expected` mm from `origin` (in direction `sign`), or None.

    A disc is a departure from the body signal; candidates in the search window are weighed by
    their contrast and by how close they lie to the expected distance, so bright marrow spots
    inside a body lose to a real disc a little further away.
    """
    config = settings()
    lo_fraction, hi_fraction = config.disc_window_fraction
    lo, hi = sorted((origin + sign * (expected - lo_fraction * period), origin + sign * (expected + hi_fraction * period)))
    arc, values = profile.window(lo, hi)
    if len(arc) < max(3, config.disc_window_min_cover * (hi - lo) / config.profile_step_mm):
        return None  # the window runs out of the field of view
    contrast = _smooth_nan(np.abs(values - body_level) / spread, config.contrast_smoothing_mm / config.profile_step_mm)
    distance = np.abs(arc - origin)
    weight = np.exp(-0.5 * ((distance - expected) / (config.disc_spacing_sd * period)) ** 2)
    best = int(np.argmax(contrast * weight))
    if contrast[best] < config.min_disc_contrast or best in (0, len(arc) - 1):
        return None
    return float(arc[best])


def _boundaries(bodies: list[Vertebra], line: SpineLine, profile: DiscProfile | None) -> list[Boundary]:
    """Disc planes: between bodies through the disc found in the profile, else the midpoint."""
    if len(bodies) == 1:
        return _single_body_boundaries(bodies[0], line)
    arcs = [line.arc_of(body.centre) for body in bodies]
    discs = []
    for (upper, lower), (upper_arc, lower_arc) in zip(zip(bodies, bodies[1:]), zip(arcs, arcs[1:])):
        discs.append(_disc_between(upper, lower, upper_arc, lower_arc, profile, line))
    top_normal = _unit(bodies[0].centre - bodies[1].centre)
    bottom_normal = _unit(bodies[-2].centre - bodies[-1].centre)
    # The outermost bodies are taken as symmetric about their centres.
    top_half = (bodies[0].centre - discs[0].point) @ top_normal
    bottom_half = (discs[-1].point - bodies[-1].centre) @ bottom_normal
    top = Boundary(bodies[0].centre + top_half * top_normal, top_normal)
    bottom = Boundary(bodies[-1].centre - bottom_half * bottom_normal, bottom_normal)
    return [top] + discs + [bottom]


def _disc_between(upper: Vertebra, lower: Vertebra, upper_arc: float, lower_arc: float, profile: DiscProfile | None, line: SpineLine) -> Boundary:
    normal = _unit(upper.centre - lower.centre)
    midpoint = (upper.centre + lower.centre) / 2
    if profile is None:
        return Boundary(midpoint, normal)
    span = upper_arc - lower_arc
    margin = settings().disc_between_margin * span
    lo, hi = lower_arc + margin, upper_arc - margin
    body_level, spread = _body_signal(profile, lower_arc, span)
    if spread <= 0 or not profile.covers(lo, hi):
        return Boundary(midpoint, normal)
    arc, values = profile.window(lo, hi)
    contrast = np.abs(values - body_level) / spread
    best = int(np.argmax(contrast))
    if contrast[best] < settings().min_disc_contrast or best in (0, len(arc) - 1):
        # No disc stands out between the bodies: a departure largest at the window's edge is the
        # signal ramping from one body to the other, and the boundary falls midway.
        return Boundary(midpoint, normal)
    offset = line.at(float(arc[best])) - line.at((upper_arc + lower_arc) / 2)
    return Boundary(midpoint + (offset @ normal) * normal, normal)


def _single_body_boundaries(body: Vertebra, line: SpineLine) -> list[Boundary]:
    heights = spine_settings().typical_height_mm
    height = heights[body.name[0]]
    normal = line.direction_at(line.arc_of(body.centre))
    return [Boundary(body.centre + normal * height / 2, normal), Boundary(body.centre - normal * height / 2, normal)]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)
