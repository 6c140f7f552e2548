"""The mass as a segment: grown from its ROI into connected tissue of like signal, or taken as given.

Growth runs on the grid of the sequence that measures the cord, inside a box around the seed
and within reach of the cord centreline (the canal and the paraspinal space); every available
sequence must agree that a voxel looks like the seed (the cord is left out by the sequence that tells
it apart, or by its tracked outline when none does), and every lobule connected to a seed through
tissue thicker than a layer is kept, with its rim and thin ends, so lobules that touch join into one
segment while a partial-volume layer of like signal leads nowhere.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..geometry import Box, Grid, Labelmap, Shape, product_by_rows, voxel_indices
from ..inputs.plain import Outline, SequenceImage
from ..measurement.ratios import Ratio, difference_over_mean
from ..measurement.regions import robust_sd, statistics
from ..settings import MassSettings, followup_settings, measurement_settings, spine_settings
from .cord import Centreline, sample_linear, sample_nearest
from .levels import Vertebra

_NEIGHBOURS = 2000  # centreline lookups are done in chunks of this many points
_NEAR_TIE_MM2 = 1e-6  # squared distances from a matrix product are this close to exact (far closer at spine sizes)
DISTANCE_EXACT_WITHIN_MM = 10.0  # the mass's distance map is read within a few mm of it (cord contact, rim)
# A voxel whose distance to the mass's surface lies this close to a limit of the rim counts as within
# it: on grids of related spacing many centres lie exactly on a limit, and rounding must not move them.
_RIM_LIMIT_TOLERANCE_MM = 1e-6


def settings() -> MassSettings:
    return spine_settings().mass


@dataclass(frozen=True)
class MassSegment:
    grid: Grid
    mask: np.ndarray  # bool, numpy order of `grid`
    given: bool
    # Which site each voxel was grown from: n + 1 for the nth of `sites`, 0 outside the mass; the
    # cord's wall beside a site is drawn from that site's own signal. None for a mass given as segments.
    site_of: np.ndarray | None = None
    sites: tuple[tuple[Box, ...], ...] = ()  # the mass ROIs grouped into sites (`mass_sites`), as grown

    def points_world(self) -> np.ndarray:
        return self.grid.to_world(self._occupied[:, ::-1].astype(float))

    @cached_property
    def _occupied(self) -> np.ndarray:
        # The mass's voxels (k, j, i), found once: five steps ask for them, each scan of the growth crop taking 30 ms.
        return np.argwhere(self.mask)

    def without(self, other: np.ndarray, grid: Grid) -> "MassSegment":
        """The mass less the voxels of another mask (on `grid`, voxel by nearest voxel)."""
        occupied = self._occupied
        ijk = np.rint(grid.to_ijk(self.points_world())).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < grid.size_ijk), axis=1)
        taken = np.zeros(len(occupied), dtype=bool)
        taken[inside] = other[ijk[inside, 2], ijk[inside, 1], ijk[inside, 0]]
        mask = self.mask.copy()
        mask[tuple(occupied[taken].T)] = False
        site_of = None if self.site_of is None else np.where(mask, self.site_of, 0).astype(self.site_of.dtype)
        return MassSegment(self.grid, mask, self.given, site_of, self.sites)

    def site_mask_on(self, site: int, grid: Grid) -> np.ndarray:
        """The voxels grown from the `site`th of `sites` as a boolean mask on `grid` (nearest voxel)."""
        sites = self.site_of if self.site_of is not None else self.mask.astype(np.uint16)  # one site
        return Labelmap(self.grid, sites == site + 1).mask_on(grid)

    def mask_on(self, grid: Grid) -> np.ndarray:
        """The mass as a boolean mask on another grid, voxel by nearest voxel (exact for the crop's own grid)."""
        return Labelmap(self.grid, self.mask).mask_on(grid)

    @property
    def volume_mm3(self) -> float:
        return float(self.mask.sum()) * self.grid.voxel_volume

    def volume_ml(self) -> Ratio:
        """The volume in mL with partial-volume bounds (data/followup.json's `volume`: the mask less a
        share of its inner boundary layer, and plus that share of its outer one, 6-connected)."""
        share = followup_settings().volume.boundary_share
        neighbours = _face_neighbours(self.mask)
        inner = int(np.count_nonzero(self.mask & ~np.all(neighbours, axis=0)))
        outer = int(np.count_nonzero(~self.mask & np.any(neighbours, axis=0)))
        voxels = int(np.count_nonzero(self.mask))
        to_ml = self.grid.voxel_volume / 1000.0
        return Ratio(voxels * to_ml, ((voxels - share * inner) * to_ml, (voxels + share * outer) * to_ml))

    def distance_map_mm(self) -> np.ndarray:
        """Distance (mm) from each voxel of the grid to the mass, negative inside: exact within
        DISTANCE_EXACT_WITHIN_MM of the mass, farther voxels may read +inf. Read-only."""
        return self._distance_map

    @cached_property
    def _distance_map(self) -> np.ndarray:
        # Computed once, as the cord-contact and the rim-enhancement checks both read it, and only
        # on the mass's block grown by the exact reach: over the whole growth crop it took 0.3 s.
        array = np.full(self.mask.shape, np.inf, dtype=np.float32)
        block = _block_around(self.mask, self.grid.spacing, DISTANCE_EXACT_WITHIN_MM)
        if block is not None:
            array[block] = _signed_distance_mm(self.mask[block], self.grid.spacing)
        array.setflags(write=False)
        return array


def _face_neighbours(mask: np.ndarray) -> np.ndarray:
    """The mask's value at each voxel's six face neighbours (False beyond the array), stacked."""
    padded = np.pad(mask, 1)
    core = tuple(slice(1, -1) for _ in range(3))
    shifted = []
    for axis in range(3):
        for step in (-1, 1):
            window = list(core)
            window[axis] = slice(1 + step, padded.shape[axis] - 1 + step)
            shifted.append(padded[tuple(window)])
    return np.stack(shifted)


def segment_mass(
    sources: Sequence[Outline],
    images: list[SequenceImage],
    reference: SequenceImage,
    cord_mask: np.ndarray | None = None,
    centreline: Centreline | None = None,
    cord_region: list[Shape] | None = None,
    spine_past_cord: np.ndarray | None = None,
    marrow: list[Shape] | None = None,
    reach: "Reach | None" = None,
    rivals_seen: "list[list[_SeedWindow | None]] | None" = None,
) -> MassSegment:
    """The mass on `reference`'s grid: user segments as given, ROIs grown into like tissue.

    With `cord_region` (the cord's ROIs or segments) a voxel joins the mass only if it looks more
    like the mass than like the cord: where the two share their signal on most sequences, the
    voxels on their border (partial volume, thick slices) go to the tissue they resemble more.
    `spine_past_cord` (world points on the spine beyond the cord's ends, through the labelled bodies
    there) lets the mass grow as near them as near the centreline: below the conus the canal and
    the sacrum go on, bending away from the centreline's straight continuation.
    `marrow` (samples of the vertebral bodies' marrow, `body_marrow`) is compared in the same way:
    marrow lines the canal (bodies, pedicles, laminae, spinous processes), and when the mass is
    bright on T1 (a subacute haematoma) it lies within the mass's window on every sequence: grown
    without this comparison, the haematoma case's mass spread through the posterior elements into
    all 23 sagittal T1 slices.
    `reach`: `reach_of(reference.grid, centreline, spine_past_cord)` found before (it does not depend
    on the mass); found here when not given.
    `rivals_seen`: `rival_windows(images, cord_region, marrow)` found before (nor do they depend on
    the mass: the live panel keeps them while the mass is dragged); found here when not given.
    """
    segments = [source for source in sources if source.segment]
    if segments:
        mask = np.zeros(reference.grid.shape, dtype=bool)
        for source in segments:
            mask.ravel()[voxel_indices(reference.grid, source.shape)] = True
        if not mask.any():
            raise InputError(segments[0].label, f"the mass segment holds no {reference.role} voxel")
        return MassSegment(reference.grid, mask, given=True)
    if reach is None and centreline is not None:
        reach = reach_of(reference.grid, centreline, spine_past_cord)
    sites = mass_sites([source.shape for source in sources])
    bounds = {n: _search_bounds(site, reference.grid) for n, site in enumerate(sites)}
    inside = {n: found for n, found in bounds.items() if found is not None}
    if not inside:
        raise InputError("mass", "the mass region lies outside the images")
    rivals = rivals_seen if rivals_seen is not None else rival_windows(images, cord_region, marrow)
    grown = {n: _grow(sites[n], crop, images, reference, cord_mask, reach, rivals, centreline) for n, crop in inside.items()}
    return _union(grown, reference.grid, sites)


def mass_sites(boxes: list[Box]) -> list[list[Box]]:
    """The mass ROIs grouped into sites: boxes whose world extents overlap, directly or through
    others, are one site. Each site is grown from its own signal and within its own crop: pooled, a
    sacral ROI set how a thoracic mass grew (thalassaemia major: the thoracic T2 window 330 +- 83
    with the sacral box, 352 +- 88 without) and decided whether the cord read compressed there."""
    extents = [(corners.min(axis=0), corners.max(axis=0)) for corners in (box.corners_world() for box in boxes)]
    group = list(range(len(boxes)))

    def root(n: int) -> int:
        while group[n] != n:
            n = group[n]
        return n

    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            if np.all(extents[a][0] <= extents[b][1]) and np.all(extents[b][0] <= extents[a][1]):
                group[root(b)] = root(a)
    roots = list(dict.fromkeys(root(n) for n in range(len(boxes))))
    return [[box for n, box in enumerate(boxes) if root(n) == r] for r in roots]


def _union(parts: dict[int, MassSegment], reference: Grid, sites: list[list[Box]]) -> MassSegment:
    """The masses grown from the `sites` (by their index there) as one segment on the block of
    `reference` that holds them all, each voxel labelled with its site (a voxel two took goes to the first)."""
    offsets = {n: np.rint(reference.to_ijk(part.grid.to_world(np.zeros((1, 3)))))[0].astype(int) for n, part in parts.items()}
    lo = np.min(list(offsets.values()), axis=0)
    hi = np.max([offsets[n] + part.grid.size_ijk - 1 for n, part in parts.items()], axis=0)
    grid = reference.block(lo, hi)
    site_of = np.zeros(grid.shape, dtype=np.uint16)
    for n in sorted(parts, reverse=True):
        start = (offsets[n] - lo)[::-1]
        window = tuple(slice(int(a), int(a) + size) for a, size in zip(start, parts[n].mask.shape))
        site_of[window][parts[n].mask] = n + 1
    return MassSegment(grid, site_of > 0, False, site_of, tuple(tuple(site) for site in sites))


def _grow(
    boxes: list[Box],
    bounds: tuple[np.ndarray, np.ndarray],
    images: list[SequenceImage],
    reference: SequenceImage,
    cord_mask: np.ndarray | None,
    reach: "Reach | None",
    rivals: "list[list[_SeedWindow | None]]",
    centreline: Centreline | None = None,
) -> MassSegment:
    """The mass grown from one site's `boxes` within its search block `bounds` (`_search_bounds`)."""
    lo, hi = bounds
    crop_grid = reference.grid.block(lo, hi)
    crop = tuple(slice(lo[axis], hi[axis] + 1) for axis in (2, 1, 0))  # the crop in `reference`'s array

    def allowed(part: tuple[slice, ...]) -> np.ndarray:
        """Where the mass may grow in a block of the crop (numpy-order slices in the crop)."""
        in_reference = _within(crop, part)
        where = reach.cut(in_reference) if reach is not None else np.ones(_shape_of(part), dtype=bool)
        if cord_mask is not None:
            where &= cord_mask[in_reference] == 0
        return where

    seeds = np.unique(np.concatenate([voxel_indices(crop_grid, box) for box in boxes]))
    seed_kji = np.stack(np.unravel_index(seeds, crop_grid.shape), axis=1)
    # The mass can only grow where the reference alone already lets it, connected to the seed: that
    # part's block holds it (and its holes), and the comparison on every sequence, the growth and the
    # hole filling run on that block alone, not on the whole crop (11 million voxels on the
    # 512 x 512 x 200 benchmark study, 6,000 in the mass); nor is anything else made for the whole crop.
    region = _reachable_block(boxes, images, reference, crop, allowed, seed_kji, crop_grid.shape)
    region_lo = np.array([region[axis].start for axis in (2, 1, 0)])
    region_hi = np.array([region[axis].stop - 1 for axis in (2, 1, 0)])
    region_grid = crop_grid.block(region_lo, region_hi)
    like = _like_the_seed(boxes, images, reference, region_grid, _within(crop, region), rivals)
    like &= allowed(region)
    grown = _grown_from_seeds(like, _marked(seed_kji, region), region_grid.spacing)
    if centreline is not None:
        grown = _off_the_layer(grown, region_grid, boxes, centreline, _marked(seed_kji, region))
    # The segment keeps the block of the crop within the distance map's reach of it, not the whole
    # crop, so each later pass over it (its voxels, distance map, the cord's border taken out) is a
    # pass over the block.
    block = _block_around(grown, crop_grid.spacing, DISTANCE_EXACT_WITHIN_MM, _starts(region), crop_grid.shape)
    if block is None:
        return MassSegment(crop_grid, np.zeros(crop_grid.shape, dtype=bool), given=False)
    both = tuple(slice(max(r.start, b.start), min(r.stop, b.stop)) for r, b in zip(region, block))  # holds every grown voxel
    mask = np.zeros(_shape_of(block), dtype=bool)
    mask[tuple(slice(o.start - b.start, o.stop - b.start) for o, b in zip(both, block))] = grown[tuple(slice(o.start - r.start, o.stop - r.start) for o, r in zip(both, region))]
    lo = np.array([block[axis].start for axis in (2, 1, 0)])
    hi = np.array([block[axis].stop - 1 for axis in (2, 1, 0)])
    return MassSegment(crop_grid.block(lo, hi), mask, given=False)


def _reachable_block(
    boxes: list[Box],
    images: list[SequenceImage],
    reference: SequenceImage,
    crop: tuple[slice, ...],
    allowed: Callable[[tuple[slice, ...]], np.ndarray],
    seed_kji: np.ndarray,
    shape: tuple[int, int, int],
) -> tuple[slice, ...]:
    """The bounding block (in the crop, of `shape`) of the voxels connected to a seed (`seed_kji`)
    through voxels the reference sequence's own window and `allowed` let the mass take: what is
    like the seed on every sequence is a part of those, so the grown mass lies in this block. The
    whole crop when the reference is not among the sequences compared.

    Sought in a block around the seeds, grown where the part connected to them reaches the block's
    side: a part that touches no side inside the crop is the one the whole crop gives (a path out
    of the block would cross its side), found without a pass over the crop."""
    whole = tuple(slice(0, size) for size in shape)
    if not len(seed_kji) or not any(image is reference for image in images):
        return whole
    window = _seed_window(reference, boxes)
    low, high = seed_kji.min(axis=0), seed_kji.max(axis=0)
    size = np.array(shape)
    margin_low = margin_high = np.full(3, settings().first_search_margin_voxels)
    while True:
        start, stop = np.maximum(low - margin_low, 0), np.minimum(high + margin_high + 1, size)
        part = tuple(slice(int(a), int(b)) for a, b in zip(start, stop))
        possible = allowed(part) & _possible(reference.voxels[_within(crop, part)], window)
        possible |= _marked(seed_kji, part)
        seeds = (seed_kji - start)[:, ::-1].tolist()  # (i, j, k) of each seed voxel in the part
        found = sitk.GetArrayFromImage(sitk.ConnectedThreshold(sitk.GetImageFromArray(possible.view(np.uint8)), seedList=seeds, lower=1, upper=1)).view(bool)  # a copy: the image is not kept
        touches_low = np.array([found.take(0, axis=axis).any() for axis in range(3)]) & (start > 0)
        touches_high = np.array([found.take(-1, axis=axis).any() for axis in range(3)]) & (stop < size)
        if not touches_low.any() and not touches_high.any():
            return _block_around(found, np.ones(3), 0.0, start, shape)
        margin_low = np.where(touches_low, 2 * margin_low, margin_low)
        margin_high = np.where(touches_high, 2 * margin_high, margin_high)


def _within(outer: tuple[slice, ...], part: tuple[slice, ...]) -> tuple[slice, ...]:
    """A block given in `outer`'s own indices, as slices of the array `outer` was cut from."""
    return tuple(slice(o.start + p.start, o.start + p.stop) for o, p in zip(outer, part))


def _shape_of(part: tuple[slice, ...]) -> tuple[int, ...]:
    return tuple(p.stop - p.start for p in part)


def _starts(part: tuple[slice, ...]) -> np.ndarray:
    return np.array([p.start for p in part])


def _marked(kji: np.ndarray, part: tuple[slice, ...]) -> np.ndarray:
    """A mask of the block `part` with the voxels `kji` (indices in the array the block is cut from) that lie in it."""
    mask = np.zeros(_shape_of(part), dtype=bool)
    local = kji - _starts(part)
    local = local[np.all((local >= 0) & (local < np.array(mask.shape)), axis=1)]
    mask[tuple(local.T)] = True
    return mask


def body_marrow(bodies: list[Vertebra]) -> list[Box]:
    """A cube of `marrow_sample_mm` at each labelled body's centre: the marrow the mass is told
    apart from, read where the user said a vertebral body is (a marrow ROI may be moved in the live
    panel without redoing the levels, and the levels step reads the level points already)."""
    half = np.full(3, settings().marrow_sample_mm / 2)
    return [Box(np.asarray(body.centre, dtype=float), np.eye(3), half) for body in bodies]


def cord_wall(
    mass: MassSegment, images: list[SequenceImage], reference: SequenceImage, cord_region: list[Shape], cord_points: np.ndarray | None = None
) -> np.ndarray:
    """Where the cord may not go, on `reference`'s grid, for tracing the cord past the mass.

    Within `wall_reach_voxels` of the mass (data/levels.json): how much nearer a voxel's signal lies
    to the mass's than to the cord region's (summed squared deviations, the sequences sampled linearly), so the wall's zero
    crossing falls between voxel centres where the signal turns from cord to mass; the mass's own
    outline (a boolean wall) for a mass given as a segment or without a cord region to compare with.
    Both deviations on a sequence are in one unit (the two seeds' half-widths pooled), so on a
    sequence that tells them apart the wall lies halfway between the cord's and the mass's signal:
    in each seed's own half-width, which scales with its signal, it lay nearer the darker one (on the
    thalassaemia case's T1C 43 % of the way from cord to mass, inside the cord).
    Beside each site of the mass (its `sites`, as grown) the mass's signal is that site's own: pooled,
    the sacral site's signal moved the wall beside thalassaemia major's thoracic mass 13 % of the way from mass to cord on T1C (the mass's T1C mean 519 with it, 553 without).
    `cord_points` (world): the cord's own voxels, as traced before the mass was known and away from
    it; where their signal lies outside the drawn cord region's window, the cord's signal is read on
    them (`_cord_window`): the region's main tissue was the CSF around the cord. Generated seed 167
    (a cord region twice the cord's size beside a posterior metastasis that narrows the cord 11 %):
    the region's T1 read 185 (the CSF; its window 38-332), the traced
    cord's 580 and the metastasis's 364, so the cord's own voxels lay nearer the mass than the
    "cord", the wall ran through the cord, and the cord traced against it read AP 2.1-3.9 mm at T2
    where it is painted 5.9-6.1: a false compression (MSCC 63 %).
    """
    outline = mass.mask_on(reference.grid)
    if mass.given or not cord_region:
        return outline
    # Unset voxels start at -inf, not at the -1 they end with: the field's values below -1 place the
    # interpolated wall (cord.segment_cord), so a site's own values are kept, the larger where two meet.
    wall = np.full(reference.grid.shape, -np.inf, dtype=np.float32)
    for n, boxes in enumerate(mass.sites):
        at = np.nonzero(_dilated_on_its_block(mass.site_mask_on(n, reference.grid), settings().wall_reach_voxels))
        if at[0].size:
            wall[at] = np.maximum(wall[at], _nearer_the_mass(at, boxes, images, reference, cord_region, cord_points))
    wall[np.isneginf(wall)] = -1.0
    return wall


def _dilated_on_its_block(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask` dilated by a ball of `radius` voxels, computed on the block that holds it and the ball:
    the same voxels as a dilation of the whole volume, without one (a sixth of a second for each mass
    site of the thalassaemia case, on every analysis and live update that walls the cord)."""
    near = np.zeros(mask.shape, dtype=bool)
    occupied = np.argwhere(mask)
    if occupied.size == 0:
        return near
    block = tuple(slice(int(lo), int(hi)) for lo, hi in zip(np.maximum(occupied.min(axis=0) - radius, 0), np.minimum(occupied.max(axis=0) + radius + 1, mask.shape)))
    dilated = sitk.BinaryDilate(sitk.GetImageFromArray(mask[block].astype(np.uint8)), [radius] * 3)
    near[block] = sitk.GetArrayFromImage(dilated).view(bool)
    return near


def _nearer_the_mass(
    at: tuple[np.ndarray, ...], boxes: list[Box], images: list[SequenceImage], reference: SequenceImage, cord_region: list[Shape], cord_points: np.ndarray | None
) -> np.ndarray:
    """At the voxels `at` of `reference`: the summed squared deviation from the cord's signal
    (`_cord_window`) less that from the mass site's (`boxes`),
    each sequence in the two seeds' pooled half-width."""
    points = reference.grid.to_world(np.stack(at[::-1], axis=1).astype(float))
    from_mass, from_cord = np.zeros(len(points)), np.zeros(len(points))
    for image in images:
        mass_window, cord_window = _seed_window(image, boxes), _cord_window(image, cord_region, cord_points)
        if mass_window is None or cord_window is None:
            continue  # a sequence holding no voxel of either seed says nothing about the wall
        values = reference.voxels[at].astype(np.float64) if image is reference else sample_linear(image, points)
        unit = float(np.sqrt((mass_window.half_width**2 + cord_window.half_width**2) / 2))
        from_mass += _deviation(_SeedWindow(mass_window.mean, unit), values.copy()) ** 2
        from_cord += _deviation(_SeedWindow(cord_window.mean, unit), values) ** 2
    return (from_cord - from_mass).astype(np.float32)


def _cord_window(image: SequenceImage, cord_region: list[Shape], cord_points: np.ndarray | None) -> "_SeedWindow | None":
    """The cord's signal window: the cord region's (`_seed_window`), unless the cord's own voxels
    (`cord_points`) lie outside it, when the region's main tissue is another (the CSF of a loosely
    drawn region) and the window is read on those voxels. Where the region's window holds the cord's
    own signal it is kept as it was: generated seed 16 (a tight region, T1 386 and T2 440 against the
    traced cord's 396 and 453) moved its not-assessed level from T2 to T3 with the narrower window read
    on the traced voxels."""
    region = _seed_window(image, cord_region)
    own = _points_window(image, cord_points) if cord_points is not None and len(cord_points) else None
    if own is None or (region is not None and abs(own.mean - region.mean) <= region.half_width):
        return region
    return own


def _points_window(image: SequenceImage, points: np.ndarray) -> "_SeedWindow | None":
    """The signal window of tissue sampled at `points` (world), read as `_seed_window` reads a seed
    drawn inside its tissue (median and robust SD); None where the image holds none of them."""
    values = sample_linear(image, points)
    values = values[np.isfinite(values)].astype(np.float64)
    if values.size == 0:
        return None
    mean = float(np.median(values))
    return _SeedWindow.around(mean, robust_sd(values, mean))


def _search_corners_ijk(boxes: list[Box], grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """The least and greatest voxel index (fractional, unclipped) of the boxes' extent grown by the search margin."""
    margin = np.array(settings().search_margin_mm)
    corners = np.concatenate([box.corners_world() for box in boxes])
    lo_world, hi_world = corners.min(axis=0) - margin, corners.max(axis=0) + margin
    box_corners = np.array([[x, y, z] for x in (lo_world[0], hi_world[0]) for y in (lo_world[1], hi_world[1]) for z in (lo_world[2], hi_world[2])])
    ijk = grid.to_ijk(box_corners)
    return ijk.min(axis=0), ijk.max(axis=0)


def _search_bounds(boxes: list[Box], grid: Grid) -> tuple[np.ndarray, np.ndarray] | None:
    """The least and greatest voxel index of the site's search block (the boxes' extent grown by the
    search margin) clipped to the grid; None when the block lies wholly outside it."""
    low, high = _search_corners_ijk(boxes, grid)
    lo = np.maximum(np.floor(low), 0).astype(int)
    hi = np.minimum(np.ceil(high), grid.size_ijk - 1).astype(int)
    return None if np.any(hi < lo) else (lo, hi)


def _like_the_seed(
    boxes: list[Box], images: list[SequenceImage], reference: SequenceImage, crop_grid: Grid, crop: tuple[slice, ...], rivals: "list[list[_SeedWindow | None]]"
) -> np.ndarray:
    """Voxels of the crop that lie within the seed's window on every sequence.

    Every sequence must agree: a mass of the cord's signal on T1 and T2 still differs from the cord
    where it enhances, and one sequence that tells them apart is enough (an average over the
    sequences let two agreeing ones outvote it and grew the mass into the cord). Voxels outside the
    window on the reference are ruled out first, straight from its own voxels; the other sequences
    are sampled only where the seed's tissue could be. A voxel must also lie nearer the mass than
    each rival region (the cord, the bodies' marrow): summed squared deviations, each in its
    own window's units.
    """
    windows = _enhancing_alike([_seed_window(image, boxes) for image in images], images)
    reference_voxels = reference.voxels[crop]
    on_reference = next((n for n, image in enumerate(images) if image is reference), None)
    if on_reference is None:
        candidates = np.ones(crop_grid.shape, dtype=bool)
    else:
        candidates = _possible(reference_voxels, windows[on_reference])
    flat = np.flatnonzero(candidates)
    at = np.unravel_index(flat, crop_grid.shape)
    points = crop_grid.to_world(np.stack(at[::-1], axis=1).astype(float))
    agree = np.ones(flat.size, dtype=bool)
    from_mass, from_rivals = np.zeros(flat.size), np.zeros((len(rivals), flat.size))
    for n, (image, window) in enumerate(zip(images, windows)):
        values = reference_voxels[at].astype(np.float64) if n == on_reference else sample_nearest(image, points)
        for r, rival_window in enumerate(rivals):
            if rival_window[n] is not None:
                from_rivals[r] += _deviation(rival_window[n], values.copy()) ** 2
        deviation = _deviation(window, values)
        agree &= deviation <= 1.0
        from_mass += deviation**2
    for from_rival in from_rivals:
        agree &= from_mass < from_rival
    like = np.zeros(crop_grid.shape, dtype=bool)
    like.ravel()[flat] = agree
    return like


@dataclass(frozen=True)
class _SeedWindow:
    """The seed's mean signal on one sequence and the half-width of "like the seed" around it;
    with `brighter_alike`, any value above the window is like the seed too (`_enhancing_alike`)."""

    mean: float
    half_width: float
    brighter_alike: bool = False

    @classmethod
    def around(cls, mean: float, sd: float) -> "_SeedWindow":
        """`window_sd` SDs or `window_fraction` of the signal either side of `mean`, whichever is wider."""
        return cls(mean, float(max(settings().window_sd * sd, settings().window_fraction * abs(mean), 1e-6)))


def _enhancing_alike(windows: list["_SeedWindow | None"], images: list[SequenceImage]) -> list["_SeedWindow | None"]:
    """The seed's windows with the post-contrast sequence's open above (`brighter_alike`) when its
    pre-contrast sequence is compared too (data/measurement.json `enhancement`): a voxel like the seed
    before contrast that gains more than the seed did is the same tissue enhancing, not another one.
    An abscess's enhancing wall and a tumour's enhancing edge are the mass; judged against the seed's
    T1C window the built-in abscess's wall (1.5 mm, 2.5 times the pus's T1C) was left out, and with it,
    on 0.8 x 3 mm T1C sections, most of the thin collection at its ends (T9 and T11 read 35 and 24 %
    of their height, a level needs 25 %), so the report read mass T9-T10 for T9-T11. Tissue bright
    before contrast (fat, marrow) is still told apart by the pre-contrast window."""
    roles = measurement_settings().enhancement
    by_role = {image.role: n for n, image in enumerate(images)}
    post, pre = by_role.get(roles.post), by_role.get(roles.pre)
    if post is None or pre is None or windows[post] is None or windows[pre] is None:
        return windows
    return [replace(window, brighter_alike=True) if n == post else window for n, window in enumerate(windows)]


def rival_windows(images: list[SequenceImage], cord_region: list[Shape] | None, marrow: list[Shape] | None) -> list[list[_SeedWindow | None]]:
    """The seed's window of each rival region (the cord's, the bodies' marrow) on every sequence, by
    `images`' order; a rival outside every image says nothing and is left out."""
    found = [[_seed_window(image, rival) for image in images] for rival in (cord_region, marrow) if rival]
    return [windows for windows in found if any(window is not None for window in windows)]


def _seed_window(image: SequenceImage, boxes: list[Shape]) -> _SeedWindow | None:
    """None when the seed holds no voxel of the image. The seed's signal and spread are its median and
    robust SD (1.4826 MAD): a box drawn a little beyond the mass takes in CSF or fat, whose values
    pulled the mean and blew up the SD, and the window then took in the whole canal. A box over
    several tissues, fewer than `seed_pure_share` of its voxels near the signal most of them lie near
    (a thin mass under a box that takes in as much CSF, dura or fat), gives that main tissue's window:
    even the median and MAD lay between the tissues there."""
    indices = np.unique(np.concatenate([voxel_indices(image.grid, box) for box in boxes]))
    if indices.size == 0:
        return None
    seed = image.voxels.ravel()[indices].astype(np.float64)
    main = _main_tissue(seed, _noise_sd(image, indices))
    if len(main.values) < settings().seed_pure_share * len(seed):
        return main.window  # a box over several tissues: the one filling most of it, within its own reach
    mean = float(np.median(seed))
    return _SeedWindow.around(mean, robust_sd(seed, mean))


_MODE_CANDIDATES = 2000  # the seed's values tried as the main tissue's signal, at most (evenly through them sorted)


@dataclass(frozen=True)
class _MainTissue:
    values: np.ndarray  # the seed's values within `window`
    window: _SeedWindow


def _main_tissue(seed: np.ndarray, noise_sd: float) -> _MainTissue:
    """The tissue that fills most of a seed: the signal that most of its values lie near, within a
    like-the-seed window of the noise (`window_sd` noise SDs) or of the signal (`window_fraction`).

    A box drawn over a thin mass takes in the CSF, fat, dura or bone beside it; the median and MAD
    of the whole box lay between those tissues, and a window that wide took in the whole canal
    (an abscess drawn against CSF and dura grew through the CSF 7 levels up and down the canal)."""
    ordered = np.sort(seed)
    centres = ordered[np.linspace(0, len(ordered) - 1, min(len(ordered), _MODE_CANDIDATES)).astype(int)]
    reach = np.maximum(settings().window_sd * noise_sd, settings().window_fraction * np.abs(centres))
    counts = np.searchsorted(ordered, centres + reach, side="right") - np.searchsorted(ordered, centres - reach, side="left")
    best = int(np.argmax(counts))
    values = ordered[(ordered >= centres[best] - reach[best]) & (ordered <= centres[best] + reach[best])]
    return _MainTissue(values, _SeedWindow.around(float(np.median(values)), noise_sd))


def _noise_sd(image: SequenceImage, indices: np.ndarray) -> float:
    """The image's noise SD at the seed: the robust spread of differences between neighbouring
    voxels of the seed along the axis where they differ least (along a tissue's layers, not across
    them), over the square root of 2."""
    flat = image.voxels.ravel()
    spreads = []
    for axis, size in enumerate(image.grid.shape):
        stride = int(np.prod(image.grid.shape[axis + 1:]))
        here = indices[(indices // stride) % size + 1 < size]  # flat indices: a gather far cheaper than by (k, j, i)
        differences = flat[here + stride].astype(np.float64) - flat[here]
        if differences.size:
            spreads.append(robust_sd(differences, float(np.median(differences))) / np.sqrt(2))
    return min(spreads) if spreads else 0.0


def _possible(values: np.ndarray, window: _SeedWindow | None) -> np.ndarray:
    """Values within the window, a hair wider than exact (a part in a billion) so that rounding
    never rules out a voxel the exact test would keep; NaN values (no evidence against them) are kept."""
    if window is None:
        return np.ones(values.shape, dtype=bool)
    reach = window.half_width * (1 + 1e-9)
    low, high = window.mean - reach, np.inf if window.brighter_alike else window.mean + reach
    if values.dtype.kind in "iu":
        # The same test in the voxels' own integer type (an integer is >= low exactly when it is
        # >= ceil(low)): compared as floats, each bound made a float64 copy of the whole crop.
        limits = np.iinfo(values.dtype)
        if np.ceil(low) > limits.max or np.floor(high) < limits.min:
            return np.zeros(values.shape, dtype=bool)
        low, high = (values.dtype.type(np.clip(bound, limits.min, limits.max)) for bound in (np.ceil(low), np.floor(high)))
    possible = (values >= low) & (values <= high)
    if values.dtype.kind == "f":
        possible |= np.isnan(values)
    return possible


def _deviation(window: _SeedWindow | None, values: np.ndarray) -> np.ndarray:
    """How far each value lies from the seed's signal, in units of the like-the-seed half-width.

    Values outside the image's field of view (NaN) count as 0 (no evidence against them), as do
    all values of a sequence the seed holds no voxel of. The float64 `values` are overwritten.
    """
    if window is None:
        return np.zeros(values.shape)
    missing = np.isnan(values)
    deviation = np.subtract(values, window.mean, out=values)
    if window.brighter_alike:
        np.negative(deviation, out=deviation)
        np.maximum(deviation, 0.0, out=deviation)
    else:
        np.abs(deviation, out=deviation)
    deviation /= window.half_width
    deviation[missing] = 0.0
    return deviation


@dataclass(frozen=True)
class Reach:
    """Where a mass may grow on a grid: the voxels of `block` (numpy order) marked in `near`."""

    block: tuple[slice, ...]
    near: np.ndarray  # bool, the block's shape

    def cut(self, crop: tuple[slice, ...]) -> np.ndarray:
        """The reach on a crop of the grid (numpy-order slices with starts and stops): False outside the block."""
        cut = np.zeros(tuple(part.stop - part.start for part in crop), dtype=bool)
        into, out_of = [], []
        for part, block in zip(crop, self.block):
            start, stop = max(part.start, block.start), min(part.stop, block.stop)
            if stop <= start:
                return cut
            into.append(slice(start - part.start, stop - part.start))
            out_of.append(slice(start - block.start, stop - block.start))
        cut[tuple(into)] = self.near[tuple(out_of)]
        return cut


def reach_of(grid: Grid, centreline: Centreline, spine_past_cord: np.ndarray | None = None) -> Reach:
    """Voxels of `grid` within `max_distance_from_cord_mm` of the cord centreline, continued straight
    beyond its ends (the canal goes on where the tracked cord stopped, at a mass of the cord's own
    signal, say), or of the spine past the cord's ends when given. Found on the whole grid, not on one
    growth crop, as it does not depend on where the mass is: the live panel keeps it while the mass
    ROI moves (on the 512 x 512 x 200 benchmark study it took 0.15-0.4 s of each mass move)."""
    within_mm = settings().max_distance_from_cord_mm
    dense = np.linspace(0, len(centreline.points) - 1, 4 * len(centreline.points))
    points = np.stack([np.interp(dense, np.arange(len(centreline.points)), centreline.points[:, axis]) for axis in range(3)], axis=1)
    reach = np.arange(0.5, max(settings().search_margin_mm) + 0.5, 0.5)[:, None]
    points = np.concatenate([centreline.points[0] - reach * centreline.tangents[0], points, centreline.points[-1] + reach * centreline.tangents[-1]])
    if spine_past_cord is not None:
        points = np.concatenate([points, spine_past_cord])
    ijk = np.rint(grid.to_ijk(points)).astype(int)
    inside = np.all((ijk >= 0) & (ijk < grid.size_ijk), axis=1)
    if not inside.any():
        return Reach((slice(0, 0),) * 3, np.zeros((0, 0, 0), dtype=bool))
    lo, hi = ijk[inside].min(axis=0), ijk[inside].max(axis=0)
    margins = np.ceil(within_mm / np.asarray(grid.spacing)).astype(int) + 1
    lo, hi = np.maximum(lo - margins, 0), np.minimum(hi + margins, grid.size_ijk - 1)
    block = tuple(slice(int(lo[axis]), int(hi[axis]) + 1) for axis in (2, 1, 0))
    marks = np.zeros(tuple(int(hi[axis] - lo[axis] + 1) for axis in (2, 1, 0)), dtype=bool)
    i, j, k = (ijk[inside] - lo).T
    marks[k, j, i] = True
    return Reach(block, _signed_distance_mm(marks, grid.spacing) <= within_mm)


def _block_around(
    mask: np.ndarray, spacing: np.ndarray, reach_mm: float, offset: np.ndarray | None = None, shape: tuple[int, ...] | None = None
) -> tuple[slice, ...] | None:
    """The mask's bounding block grown by `reach_mm` and a voxel (clipped to the array): every voxel
    within `reach_mm` of the mask lies in it, and a distance map of the block is exact there. None for an empty mask.
    With `offset` and `shape`: `mask` is the block from `offset` (numpy order) of an array of `shape`,
    empty outside it, and the block is that array's."""
    offset = np.zeros(3, dtype=int) if offset is None else offset
    shape = mask.shape if shape is None else shape
    bounds = [np.flatnonzero(mask.any(axis=tuple(other for other in range(3) if other != axis))) + offset[axis] for axis in range(3)]
    if bounds[0].size == 0:
        return None
    margins = np.ceil(reach_mm / np.asarray(spacing)[::-1]).astype(int) + 1  # numpy order (k, j, i)
    return tuple(slice(int(max(found[0] - margin, 0)), int(min(found[-1] + margin, size - 1) + 1)) for found, margin, size in zip(bounds, margins, shape))


def _signed_distance_mm(mask: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Signed Maurer distance (mm, float32) to a boolean mask's voxels, negative inside."""
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.SetSpacing([float(s) for s in spacing])
    distance = sitk.SignedMaurerDistanceMap(image, insideIsPositive=False, squaredDistance=False, useImageSpacing=True)
    return sitk.GetArrayFromImage(distance)


def _grown_from_seeds(like: np.ndarray, seeds: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """What is like the seed and connected to it through tissue thicker than a layer, with the rim
    around that restored. Seed voxels unlike the mass (a box poking into CSF or fat) are neither
    taken nor grown from, unless none is like it.

    Grown through every like voxel, masses leaked along partial-volume layers a voxel or two thick,
    and into neighbours of like signal that such a layer joins to them: where CSF meets the cord
    the average reads as an abscess on T1 and T2 and runs the whole canal; a posterior EMH reached
    the paraspinal muscles (in its window on T1 and T2) along the soft-tissue borders behind the
    laminae (on generated spines, masses 1-9 levels beyond their truth). So the mass grows only
    through like voxels with most of their in-plane neighbours like (`_thick`), then takes back the
    like voxels beside what it grew. A mass too thin for that keeps the like voxels beside its seed."""
    start = seeds & like if (seeds & like).any() else seeds
    radius = _in_plane_radius(spacing)
    thick = _thick(like, radius)
    core = _connected_to_seeds(thick, start & thick, fill=False) if (start & thick).any() else start
    beside = _dilated_by_one(core, radius, box=True)
    grown = _connected_to_seeds(beside & like, start, fill=False) | start
    return _connected_to_seeds(_with_tapers(grown, like, spacing), start)


def _off_the_layer(grown: np.ndarray, grid: Grid, boxes: list[Box], centreline: Centreline, seeds: np.ndarray) -> np.ndarray:
    """`grown` less a layer of the mass's own signal that runs along the canal past the mass.

    The posterior epidural fat lies in the canal behind the thecal sac from end to end, and a subacute
    haematoma is bright on T1 and T2 as fat is: on generated held-out seeds 234, 235 and 246 the fat's
    signal lay within a noise SD of the painted haematoma's, and the mass grew through it 1-7 levels
    (seed 246: 1,774 of its 2,678 voxels fat). No signal window tells them apart; the mass's bulk does:
    it pushes the dura in, so the grown tissue comes nearer the cord there than along the fat. Where
    the part grown more than `layer_far_mm` past the seed along the cord lies in the canal, behind the
    cord (where the epidural fat pad is: morphology's `one_side_fraction` of it), begins thin on each
    side (`_far_part_begins_thick`: the built-in abscess's and haematoma's own ends run on behind the
    cord past 20 mm, as thick as the mass), and comes no nearer
    the cord than `layer_step_mm` beyond the seed's nearest approach, that far part is a layer, and the
    mass is cut on each side at the first millimetre (from the seed outwards) whose nearest grown voxel
    lies farther from the cord than the layer's distance less `layer_tolerance_mm`. Only a mass whose
    part alongside its ROI lies as the fat does, behind the cord or all round it (`layer_positions`, as
    `position` reads them), is checked: tuning seed 102's right-sided haematoma (T8-T9) had a far part
    behind the cord that began thin, and cut it read T9 alone. A lateral mass's
    thinning end keeps beside the cord as the fat does not: generated held-out seed 240's far part (a
    left metastasis, its 13 mm gradual end) lay 3 mm from the cord, 45 % of it behind, and cut as a
    layer the mass lost its T9."""
    occupied = np.argwhere(grown)
    if len(occupied) == 0:
        return grown
    mass = settings()
    points = grid.to_world(occupied[:, ::-1].astype(float))
    arc, radial, anterior = _along_the_cord(points, centreline)
    box_arc, _, _ = _along_the_cord(np.concatenate([box.corners_world() for box in boxes]), centreline)
    low, high = float(box_arc.min()), float(box_arc.max())
    alongside_roi = (arc >= low) & (arc <= high)
    if _position_of(_subsample(points[alongside_roi] if alongside_roi.any() else points, 20000), centreline) not in mass.layer_positions:
        return grown
    far = (arc < low - mass.layer_far_mm) | (arc > high + mass.layer_far_mm)
    morphology = spine_settings().morphology
    if far.sum() < mass.layer_min_voxels or np.mean(radial[far] <= morphology.canal_radius_mm) < mass.layer_in_canal_share:
        return grown
    if np.mean(anterior[far] < 0) < morphology.one_side_fraction:
        return grown
    if _far_part_begins_thick(arc, radial, low - mass.layer_far_mm, high + mass.layer_far_mm):
        return grown
    bins = np.floor(arc).astype(int)
    first = int(bins.min())
    nearest = np.full(int(bins.max()) - first + 1, np.inf)  # per millimetre along the cord: the grown voxel nearest the cord
    np.minimum.at(nearest, bins - first, radial)
    seed_mm = np.arange(int(np.floor(low)), int(np.floor(high)) + 1) - first
    seed_mm = seed_mm[(seed_mm >= 0) & (seed_mm < len(nearest))]
    seed_nearest = nearest[seed_mm][np.isfinite(nearest[seed_mm])]
    layer = float(np.median(nearest[np.unique(bins[far]) - first]))
    if seed_nearest.size == 0 or layer - float(np.median(seed_nearest)) < mass.layer_step_mm:
        return grown
    flat = nearest > layer - mass.layer_tolerance_mm  # an empty millimetre (inf) ends the mass too
    above = np.flatnonzero(flat[:seed_mm.min()])
    below = np.flatnonzero(flat[seed_mm.max() + 1:]) + seed_mm.max() + 1
    keep = (bins - first > (above.max() if above.size else -1)) & (bins - first < (below.min() if below.size else len(nearest)))
    trimmed = np.zeros_like(grown)
    trimmed[tuple(occupied[keep].T)] = True
    return _connected_to_seeds(trimmed, seeds & trimmed, fill=False) if (seeds & trimmed).any() else trimmed


def _far_part_begins_thick(arc: np.ndarray, radial: np.ndarray, top: float, bottom: float) -> bool:
    """Whether, on either side, the grown tissue past `top` or `bottom` along the cord (mm of arc, as
    `_along_the_cord` gives it with the distance from the cord, `radial`) is as thick as a mass over its
    first `layer_thickness_reach_mm`: the median over those millimetres of each one's thickness across
    the canal (its farthest grown voxel from the cord less its nearest) reaches `layer_max_thickness_mm`.
    A mass's end runs on there with the mass's own bulk and thins only further out; the epidural fat
    keeps its thin layer from the start (see data/levels.json's `layer_thickness_reason`)."""
    reach = settings().layer_thickness_reach_mm
    for beyond in (top - arc, arc - bottom):  # mm past where that side's far part begins
        start = (beyond > 0) & (beyond <= reach)
        if not start.any():
            continue
        millimetre, at = np.unique(np.floor(arc[start]).astype(int), return_inverse=True)
        nearest, farthest = np.full(len(millimetre), np.inf), np.full(len(millimetre), -np.inf)
        np.minimum.at(nearest, at, radial[start])
        np.maximum.at(farthest, at, radial[start])
        if float(np.median(farthest - nearest)) >= settings().layer_max_thickness_mm:
            return True
    return False


def _along_the_cord(points: np.ndarray, centreline: Centreline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each world point's position along the cord (mm of the centreline's arc, its nearest point's
    plus the step along that point's tangent), its distance from the centreline across it, and how
    far in front of the cord's centre it lies (negative behind; the cord's frames, as `position` reads them)."""
    nearest = nearest_centreline_index(points, centreline)
    offsets = points - centreline.points[nearest]
    along = np.einsum("ij,ij->i", offsets, centreline.tangents[nearest])
    across = np.linalg.norm(offsets - along[:, None] * centreline.tangents[nearest], axis=1)
    return centreline.arc_mm[nearest] + along, across, _right_and_anterior(offsets, nearest, centreline)[1]


def _with_tapers(grown: np.ndarray, like: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """`grown` and the like voxels within `taper_mm` of it through like voxels (face steps, each axis
    stepped as often as its spacing fits in the distance walked): a mass thins out towards its ends,
    and the thin end, too thin for `_thick`, is kept as far as a taper reaches; a layer leading away
    is cut there."""
    spacing = np.asarray(spacing, dtype=float)
    step = float(spacing.min())
    grown = grown.copy()
    block = _block_around(grown, spacing, settings().taper_mm)  # walked within it alone (the whole region took 9 times the growth's time)
    if block is None:
        return grown
    part, near = grown[block], like[block]
    for n in range(1, int(np.ceil(settings().taper_mm / step)) + 1):
        radius = [int(np.floor(n * step / size + 1e-9) > np.floor((n - 1) * step / size + 1e-9)) for size in spacing]
        part |= _dilated_by_one(part, radius, box=False) & near
    grown[block] = part
    return grown


def _dilated_by_one(mask: np.ndarray, radius: list[int], box: bool) -> np.ndarray:
    """`sitk.BinaryDilate(mask, radius, sitkBox or sitkCross)` for radii of 0 or 1 voxel (i, j, k):
    the mask shifted a voxel either way along each axis of radius 1 (a box: each axis's shifts of
    the mask already shifted along the others; a cross: of the mask itself), nothing beyond its
    edges. The same voxels (checked against the filter for every radius on random masks, 2026-12-08)
    without a filter's per-call cost: the taper walk dilates its block 13 times a mass move, 1-19 ms
    a call through SimpleITK (threads on the shared cores) against 0.5 ms shifted."""
    dilated = mask.copy()
    for axis in (2 - n for n in range(3) if radius[n]):  # the numpy axis of each (i, j, k) of radius 1
        source = dilated.copy() if box else mask
        before, after = [slice(None)] * 3, [slice(None)] * 3
        before[axis], after[axis] = slice(None, -1), slice(1, None)
        dilated[tuple(after)] |= source[tuple(before)]
        dilated[tuple(before)] |= source[tuple(after)]
    return dilated


def _in_plane_radius(spacing: np.ndarray) -> list[int]:
    """One voxel along the grid's two finest axes, none along the coarsest (i, j, k): a neighbourhood
    in the slice plane, as a slice of 3-4 mm holds a whole partial-volume layer across it."""
    finest = np.argsort(np.asarray(spacing), kind="stable")[:2]
    return [int(axis in finest) for axis in range(3)]


def _thick(like: np.ndarray, radius: list[int]) -> np.ndarray:
    """Like voxels at least `neck_fraction` of whose in-plane neighbourhood (a box of `radius` voxels)
    is like, and with a like neighbour across the plane (along the axis `radius` leaves out): a
    layer one voxel thick in the plane has a third of its neighbourhood, a voxel inside a lobule
    nearly all of it even with noise; and a layer thin across a thick slice (the bone and soft
    tissue beside the canal averaged in a 4 mm sagittal slice) is like in that slice alone."""
    share = sitk.GetArrayFromImage(sitk.BoxMean(sitk.GetImageFromArray(like.astype(np.float32)), radius))
    across = 2 - radius.index(0)  # the numpy axis of the one left out
    before, after = [slice(None)] * 3, [slice(None)] * 3
    before[across], after[across] = slice(None, -1), slice(1, None)
    beside = np.zeros_like(like)
    beside[tuple(before)] |= like[tuple(after)]
    beside[tuple(after)] |= like[tuple(before)]
    return like & beside & (share >= settings().neck_fraction - 1e-6)


def _connected_to_seeds(like: np.ndarray, seeds: np.ndarray, fill: bool = True) -> np.ndarray:
    """The voxels of `like` or `seeds` face-connected to a seed voxel, holes filled unless `fill` is
    False: a flood fill from the seeds, which visits only what it grows into (labelling every
    component of the crop took most of the growth's time)."""
    candidate = sitk.GetImageFromArray((like | seeds).view(np.uint8))
    at = np.argwhere(seeds)[:, ::-1].tolist()  # (i, j, k) of each seed voxel
    grown = sitk.GetArrayFromImage(sitk.ConnectedThreshold(candidate, seedList=at, lower=1, upper=1)).astype(bool)
    block = _block_around(grown, np.ones(3), 0.0)  # holes lie within its bounding block: filled there alone
    if fill and block is not None:
        grown[block] = sitk.GetArrayFromImage(sitk.BinaryFillhole(sitk.GetImageFromArray(grown[block].astype(np.uint8)))).astype(bool)
    return grown


# ---------------------------------------------------------------------------------------------
# Facts about the mass


def nearest_centreline_index(points: np.ndarray, centreline: Centreline) -> np.ndarray:
    """Index of each point's nearest centreline point, the first of equally near ones.

    Squared distances come from one matrix product (|p|^2 - 2 p.c + |c|^2); where rounding in it
    leaves more than one candidate within _NEAR_TIE_MM2 of the least, those few are measured
    directly, so the index is the one a direct measurement of every pair gives (which took 0.1 s
    of a mass move on the 512 x 512 x 200 benchmark study)."""
    line = centreline.points
    nearest = np.empty(len(points), dtype=int)
    for start in range(0, len(points), _NEIGHBOURS):
        chunk = points[start:start + _NEIGHBOURS]
        squared = (chunk**2).sum(axis=1)[:, None] - product_by_rows(2 * chunk, line.T) + (line**2).sum(axis=1)[None, :]
        candidates = squared <= squared.min(axis=1, keepdims=True) + _NEAR_TIE_MM2
        found = np.argmax(candidates, axis=1)
        tied = np.flatnonzero(candidates.sum(axis=1) > 1)
        if tied.size:
            exact = np.linalg.norm(chunk[tied, None, :] - line[None, :, :], axis=2)
            exact[~candidates[tied]] = np.inf
            found[tied] = np.argmin(exact, axis=1)
        nearest[start:start + _NEIGHBOURS] = found
    return nearest


def position(mass: MassSegment, centreline: Centreline) -> str:
    """Where the mass lies around the cord: the epidural side if much of it is in the canal (a mass
    neither behind nor in front of the cord but to one side of it is lateral; one on both sides as well
    as in front and behind is circumferential), else the paraspinal side. Judged on the mass alongside the tracked cord: a part beyond its ends (a sacral
    mass below the conus) has no cord to lie around, and measured from the cord's end it read as
    much of a mass all round the canal (thalassaemia major, mid-thoracic and sacral: 89 % of the mass
    below the conus, "circumferential" for a posterior epidural thoracic mass)."""
    return _position_of(_subsample(mass.points_world(), 20000), centreline)


def _position_of(points: np.ndarray, centreline: Centreline) -> str:
    """`position` of a mass given as its world points."""
    nearest = nearest_centreline_index(points, centreline)
    alongside = ~_beyond_cord_ends(points, nearest, centreline)
    if alongside.any():
        points, nearest = points[alongside], nearest[alongside]
    right, anterior = _right_and_anterior(points - centreline.points[nearest], nearest, centreline)
    morphology = spine_settings().morphology
    in_canal = np.hypot(right, anterior) <= morphology.canal_radius_mm
    one_side = morphology.one_side_fraction
    if in_canal.mean() >= morphology.epidural_fraction:
        behind = np.mean(anterior[in_canal] < 0)
        if behind >= one_side:
            return "posterior_epidural"
        if behind <= 1 - one_side:
            return "anterior_epidural"
        right_share = np.mean(right[in_canal] > 0)
        return "circumferential_epidural" if 1 - one_side < right_share < one_side else "lateral_epidural"
    right_share = np.mean(right[~in_canal] > 0)
    if 1 - one_side < right_share < one_side:
        return "paraspinal_bilateral"
    return "paraspinal_right" if right_share >= one_side else "paraspinal_left"


def _right_and_anterior(offsets: np.ndarray, nearest: np.ndarray, centreline: Centreline) -> tuple[np.ndarray, np.ndarray]:
    """How far right of and in front of the cord's centre each offset from its nearest centreline
    point (`nearest`) lies, in that point's frame (negative: left, behind)."""
    rights, anteriors = (np.array([frame[axis] for frame in centreline.frames]) for axis in (0, 1))
    return np.einsum("ij,ij->i", rights[nearest], offsets), np.einsum("ij,ij->i", anteriors[nearest], offsets)


def _beyond_cord_ends(points: np.ndarray, nearest: np.ndarray, centreline: Centreline) -> np.ndarray:
    """Points whose nearest centreline point is an end and that lie past it along the cord."""
    below = (nearest == 0) & ((points - centreline.points[0]) @ centreline.tangents[0] < 0)
    above = (nearest == len(centreline.points) - 1) & ((points - centreline.points[-1]) @ centreline.tangents[-1] > 0)
    return below | above


def rim_enhancement(mass: MassSegment, pre: SequenceImage, post: SequenceImage) -> Ratio | None:
    """How much more the mass's rim enhances than its core, in units of the mass's pre-contrast signal:
    (mean post − pre of the rim − that of the core) / mean pre of the mass, with its 95 % interval.

    The rim is the shell within `rim_mm` of the mass's surface on either side: a mass grown from its
    ROI takes in an enhancing wall whose pre-contrast signal is its own (`_enhancing_alike`), as a
    drawn segment does, so the wall lies just inside the outline; a wall unlike the mass before
    contrast is left out and lies just outside it.
    The core is the mass deeper than `rim_mm`. Measured on the pre-contrast sequence's own voxels,
    the post-contrast read at their centres. Each voxel is placed by the mass's distance map
    interpolated at its centre and compared with the rim's limits with a tolerance: a nearest-voxel
    look-up flips where a centre lies halfway between two of the mass's voxels, as many do on grids
    of related spacing, and with the exact comparison a 1e-14 mm shift of the grids (an .mrb round
    trip) moved the value by 7 %. None when rim or core holds fewer than
    `rim_min_voxels` voxels (data/levels.json) or the mass's pre-contrast mean is not positive.
    """
    rim_mm = settings().rim_mm
    distance = mass.distance_map_mm()
    # Every voxel whose interpolated distance is within rim_mm has all eight neighbours of its
    # centre, so its nearest one too, within rim_mm plus a voxel diagonal.
    reach = rim_mm + float(np.linalg.norm(mass.grid.spacing))
    at = np.unravel_index(voxel_indices(pre.grid, Labelmap(mass.grid, distance <= reach)), pre.grid.shape)
    points = pre.grid.to_world(np.stack(at[::-1], axis=1).astype(float))
    before = pre.voxels[at].astype(np.float64)
    gain = sample_nearest(post, points) - before
    depth = -sample_linear(SequenceImage("mass depth", mass.grid, distance), points)
    valid = np.isfinite(gain) & np.isfinite(depth)
    edge = rim_mm + _RIM_LIMIT_TOLERANCE_MM
    core = valid & (depth > edge)
    rim = valid & (np.abs(depth) <= edge)
    if min(rim.sum(), core.sum()) < settings().rim_min_voxels:
        return None
    voxel_volume = pre.grid.voxel_volume
    mass_before = statistics(before[valid & (depth >= -_RIM_LIMIT_TOLERANCE_MM)], voxel_volume)
    if not mass_before.mean > 0:
        return None
    return difference_over_mean(statistics(gain[rim], voxel_volume), statistics(gain[core], voxel_volume), mass_before)


def _subsample(points: np.ndarray, limit: int) -> np.ndarray:
    if len(points) <= limit:
        return points
    return points[np.linspace(0, len(points) - 1, limit).astype(int)]
