"""Epidural spinal cord compression per level on the Bilsky scale, and canal compromise.

Bilsky et al. (J Neurosurg Spine 2010;13:324-328) grade an epidural mass against the cord on axial
T2 at the most compressed level: 0 no epidural mass, 1a in the canal without deforming the thecal
sac, 1b deforming the sac clear of the cord, 1c abutting the cord without compressing it, 2 the
cord compressed with CSF still visible around it, 3 compressed with no CSF visible. Here each level
is graded from the quantities that decide those words, measured on the sections of the cord's
profile inside the level (`thecal_sac.trace_sections`) and read at the level's worst section:

- the mass in the canal and how far it reaches inside the thecal sac's outline at the reference
  levels (the sac there, undeformed, in the windows MSCC uses above and below);
- the mass's distance from the cord's edge;
- the cord's narrowing in AP or RL against the same reference windows (MSCC's and the RL ratio's);
- the share of the cord's circumference with CSF just outside it.

Beside them, the canal compromise: MCC, the narrowing of the sac's AP diameter against the
reference windows (Fehlings' maximum canal compromise, read on the dural sac, the room an epidural
mass leaves), and the same ratio on the sac's area. A reading aid: thresholds and wording are in
data/bilsky.json with their reasons.
"""

from dataclasses import dataclass
from typing import get_args

import numpy as np

from ..report_model import BilskyCase, BilskyEntry, BilskyGrade, BilskyReading
from ..settings import bilsky_settings
from ..inputs.plain import SequenceImage
from .compression import Compression, compressed_codes, conus_zone, mass_level_codes, metric_ratio, reference_windows
from .cord import Cord
from .levels import LevelMap
from .masses import MassSegment
from .medians import column_nanmedians
from .thecal_sac import Rays, Sections, trace_sections
from .vertebrae import name_of

GRADES: tuple[BilskyGrade, ...] = get_args(BilskyGrade)  # mildest first


def graded_sequence(images: list[SequenceImage]) -> SequenceImage | None:
    """The sequence the grade is read on: the first of data/bilsky.json's `sequences` (CSF bright) there is."""
    by_role = {image.role: image for image in images}
    return next((by_role[role] for role in bilsky_settings().sequences if role in by_role), None)


def grade_levels(
    image: SequenceImage,
    cord: Cord,
    mass: MassSegment | None,
    level_map: LevelMap,
    compression: Compression | None,
    rays: Rays | None = None,
    unassessed: frozenset[int] = frozenset(),
    mass_levels: set[int] | None = None,
) -> list[BilskyEntry]:
    """Every level the cord is measured through but those whose compression is not assessed
    (`unassessed`), superior first (`image` T2-like: CSF bright); `rays`: `thecal_sac.cast_rays(image,
    cord)` cast before, as the live panel keeps them. The sections of a level not graded are still
    traced: they are other levels' reference windows (left untraced, generated seeds 1 C2 and 27 C5,
    beside levels where the cord was traced into the mass, lost their sac outline and read 0 where the
    truth has a mass in the canal, bilsky12 2026-12-06). `mass_levels`: the report's mass levels
    (`mass_level_codes`), when the caller has them."""
    sections = trace_sections(image, cord, mass, rays)
    codes = level_map.codes_at(cord.profile.centreline.points)
    usable = sections.measured & ~conus_zone(cord)
    measures = _SectionMeasures.of(sections, cord, codes, usable, compression)
    compressed = set(compressed_codes(compression, codes, level_map, cord.profile.centreline.points)) if compression is not None else set()
    named = compressed | (mass_level_codes(level_map, mass) if mass_levels is None else mass_levels)
    in_segment = np.zeros(len(codes), dtype=bool)
    if compression is not None:
        in_segment[compression.slices] = True
    graded = []
    for code in sorted({int(c) for c in codes[usable] if c} - unassessed):  # superior first, as the report states them
        inside = np.flatnonzero((codes == code) & usable)
        graded.append(_grade_level(code, inside, measures, code in compressed, in_segment, code in named))
    return graded


def most_severe(levels: list[BilskyEntry], mscc_at: str | None = None) -> BilskyEntry | None:
    """The level of the highest grade: among equals the most compressed cord, then the level the
    compression's MSCC is read at (`mscc_at`: the summary line names one level for both where they
    tie), then the superior one (`levels` are head first); None when no level has a mass in the canal."""
    candidates = [level for level in levels if level.grade != "0"]
    if not candidates:
        return None
    return max(candidates, key=lambda level: (GRADES.index(level.grade), level.cord_narrowing_percent or 0.0, level.level == mscc_at))


@dataclass(frozen=True)
class _SectionMeasures:
    """Per section of the profile, each smoothed along the cord (nan where not measured)."""

    indent_mm: np.ndarray
    beyond_sac_mm: np.ndarray
    gap_mm: np.ndarray
    contact_gap_mm: np.ndarray  # as gap_mm, on the rays with no CSF between cord and mass
    narrowing: np.ndarray
    csf_fraction: np.ndarray
    canal_ratio: np.ndarray
    area_ratio: np.ndarray
    resolved_share: np.ndarray  # share of the rays along which the image resolves the CSF (not smoothed: geometry)

    @classmethod
    def of(cls, sections: Sections, cord: Cord, codes: np.ndarray, usable: np.ndarray, compression: Compression | None) -> "_SectionMeasures":
        profile = cord.profile
        arc = profile.arc_mm
        compressed = np.zeros(len(arc), dtype=bool)
        if compression is not None:
            compressed[compression.slices] = True
        # The sac's healthy outline: the sections where the mass stays clear of the sac on every ray
        # (most have no mass within the rays' reach), outside the compression.
        clear = np.all(sections.mass_mm - sections.sac_mm > bilsky_settings().grading.mass_against_sac_mm, axis=1)
        healthy_sac = usable & clear & ~compressed
        healthy_cord = usable & ~compressed
        area = sections.sac_area_mm2()
        sac_ap = sections.sac_ap_mm()
        n = len(arc)
        indent, narrowing, canal_ratio, area_ratio = (np.full(n, np.nan) for _ in range(4))
        # How near the mass comes to the sac as traced on the section (negative: inside its edge).
        beyond_sac = np.min(sections.mass_mm - sections.sac_mm, axis=1)
        for code in {int(c) for c in codes[usable] if c}:
            inside = np.flatnonzero((codes == code) & usable)
            # As MSCC per level: the compression's windows for a level it reaches, else the level's own.
            around = compression.slices if compression is not None and compressed[inside].any() else inside
            above, below = reference_windows(arc, around, healthy_cord)
            ap, rl = _ratio(profile.ap_mm, inside, above, below), _ratio(profile.rl_mm, inside, above, below)
            narrowing[inside] = np.where(rl > ap, rl, ap)  # max(ap, rl), as Python's max takes a nan first
            sac_above, sac_below = reference_windows(arc, inside, healthy_sac)
            if sac_above.size == 0:
                sac_above = sac_below = np.flatnonzero(healthy_sac)
            if sac_above.size < bilsky_settings().grading.reference_min_sections:
                continue  # too few sections of the sac clear of the mass: no outline to compare with
            outline = column_nanmedians(np.concatenate([sections.sac_mm[sac_above], sections.sac_mm[sac_below]]))
            # How far the mass reaches inside the sac's outline, or pushes the sac's edge in where it lies against it.
            reached = outline[None, :] - sections.mass_mm[inside]
            against = sections.mass_mm[inside] - sections.sac_mm[inside] <= bilsky_settings().grading.mass_against_sac_mm
            pushed = np.where(against, outline[None, :] - sections.sac_mm[inside], -np.inf)
            indent[inside] = np.max(np.maximum(reached, pushed), axis=1)
            canal_ratio[inside] = _ratio(sac_ap, inside, sac_above, sac_below)
            area_ratio[inside] = _ratio(area, inside, sac_above, sac_below)
        # The mass abuts the cord on a ray with no CSF between them.
        gap = np.min(sections.mass_mm - sections.cord_mm, axis=1)
        contact_gap = np.min(np.where(sections.csf_before_mass, np.inf, sections.mass_mm - sections.cord_mm), axis=1)
        resolved = np.where(sections.resolved.any(axis=1)[:, None], sections.resolved, True)
        csf = np.sum(sections.csf_beside_cord & resolved, axis=1) / np.sum(resolved, axis=1)
        width = _smoothing_width(arc, usable)
        smoothed = (_running_median(values, arc, usable, width) for values in (indent, beyond_sac, gap, contact_gap, narrowing, csf, canal_ratio, area_ratio))
        return cls(*smoothed, np.broadcast_to(sections.resolved, sections.cord_mm.shape).mean(axis=1))


def _ratio(values: np.ndarray, at: np.ndarray, above: np.ndarray, below: np.ndarray) -> np.ndarray:
    """MSCC's ratio at each of the sections `at` against the windows' means (one pass for a level's sections); nan without windows."""
    if above.size == 0 or not np.isfinite(values[above]).any() or not np.isfinite(values[below]).any():
        return np.full(len(at), np.nan)
    return metric_ratio(values[at], float(np.nanmean(values[above])), float(np.nanmean(values[below])))


def _smoothing_width(arc: np.ndarray, usable: np.ndarray) -> float:
    """The running median's width along the arc: `smoothing_mm`, widened to hold `smoothing_sections`
    sections where they lie farther apart (an axial stack's slices), with `smoothing_spacing_slack`
    over the sections' usual spacing."""
    config = bilsky_settings().grading
    steps = np.diff(arc[usable])
    spacing = float(np.median(steps)) if steps.size else 0.0
    return max(config.smoothing_mm, config.smoothing_spacing_slack * (config.smoothing_sections - 1) * spacing)


def _running_median(values: np.ndarray, arc: np.ndarray, usable: np.ndarray, width_mm: float) -> np.ndarray:
    """Each usable section's median over the usable sections within width/2 along the arc (infinities kept)."""
    out = np.full(len(values), np.nan)
    rows = np.flatnonzero(usable)
    if rows.size == 0:
        return out
    # All the windows at once (a row per usable section): each row's values sorted, the nan of the
    # sections outside its window last, and the median read as np.median reads it, the mean of the
    # middle two (of the middle one twice for an odd count). (A loop over the sections was most of the grade's time after a mass move.)
    window = np.abs(arc[None, :] - arc[rows, None]) <= width_mm / 2  # a run of sections along the (sorted) arc
    columns = np.minimum(np.argmax(window, axis=1)[:, None] + np.arange(max(int(window.sum(axis=1).max(initial=0)), 1))[None, :], len(values) - 1)
    near = np.take_along_axis(window, columns, axis=1) & (usable & ~np.isnan(values))[columns]
    near[:, 1:] &= columns[:, 1:] > columns[:, :-1]  # a section clipped at the end counts once
    counts = near.sum(axis=1)
    ordered = np.sort(np.where(near, values[columns], np.nan), axis=1)
    found = counts > 0
    low, high = (np.take_along_axis(ordered, np.maximum(index, 0)[:, None], axis=1)[:, 0] for index in ((counts - 1) // 2, counts // 2))
    out[rows[found]] = ((low + high) / 2)[found]
    return out


def _grade_level(code: int, inside: np.ndarray, measures: _SectionMeasures, compressed: bool, in_segment: np.ndarray, named: bool) -> BilskyEntry:
    """A level's grade; `named`: the report names it a mass level or a compressed one (a level it
    leaves out is graded 0, as its mass levels say); `compressed`: the report names the cord compressed at this level (its
    compressed segment involves it), its narrowing read at the segment's most narrowed section inside the
    level and the CSF around the cord as the median over the segment's sections inside it: the most
    narrowed section is also where a cord outline traced wrong reads narrowest, and there its rays
    start in the CSF and read none around the cord (generated seed 31, C2: 17 % there, 39 % along the level)."""
    config = bilsky_settings().grading
    indent = measures.indent_mm[inside]
    margin = config.epidural_margin_mm
    reaches_canal = bool(np.any(indent >= -margin) or np.any(measures.beyond_sac_mm[inside] <= margin))
    in_canal = reaches_canal and named
    candidates = inside[in_segment[inside]] if compressed and in_segment[inside].any() else inside
    narrowing = np.where(np.isfinite(measures.narrowing[candidates]), measures.narrowing[candidates], -np.inf)
    worst = int(candidates[np.argmax(narrowing)])
    values = {
        "indent": _finite_max(indent),
        "gap": _finite_min(measures.gap_mm[inside]),
        "contact_gap": _finite_min(measures.contact_gap_mm[inside]),
        "narrowing": _finite(measures.narrowing[worst]),
        "csf": _finite_median(measures.csf_fraction[candidates]),
        "resolved": float(measures.resolved_share[worst]),
        "canal": _finite_max(measures.canal_ratio[inside]),
        "area": _finite_max(measures.area_ratio[inside]),
    }
    # The sac's front-to-back diameter (MCC's) narrowed where the mass lies against it: the dent read
    # on the whole diameter, where one ray's sub-millimetre indent is lost in the trace's noise.
    against = measures.beyond_sac_mm[inside] <= config.mass_against_sac_mm
    narrowed = _finite_max(np.where(against, measures.canal_ratio[inside], np.nan))
    indented = values["indent"] is not None and values["indent"] >= config.sac_indent_mm
    deformed = indented or (narrowed is not None and narrowed >= config.sac_narrowed_percent)
    contact = values["contact_gap"] is not None and values["contact_gap"] <= config.contact_mm
    csf_absence_readable = values["resolved"] >= config.csf_absent_needs_resolved_share
    grade = _grade(in_canal, compressed, contact, deformed, values["csf"], csf_absence_readable)
    name = name_of(code)
    case = BilskyCase(grade)
    if reaches_canal and not named:
        case = BilskyCase.BEYOND_MASS_LEVELS
    elif grade == "2" and not csf_absence_readable and values["csf"] < config.csf_visible_fraction:
        case = BilskyCase.CSF_UNRESOLVED
    elif grade == "1b" and not indented:
        case = BilskyCase.SAC_NARROWED  # deformed on the sac's diameter, no one ray indented a millimetre
    return BilskyEntry(
        name, code, grade, reaches_canal, deformed, contact, compressed,
        _round(values["indent"]), _round(values["gap"]), _round(values["narrowing"]), round(values["csf"], 3),
        _round(values["canal"]), _round(narrowed), _round(values["area"]), BilskyReading(case),
    )


def _grade(in_canal: bool, compressed: bool, contact: bool, sac_deformed: bool, csf_fraction: float, csf_absence_readable: bool) -> str:
    """Bilsky's decision, from the most to the least severe finding. Grade 3 says no CSF is visible
    around the cord: said only where the image resolves the CSF on enough of the rays (`csf_absence_readable`)."""
    if not in_canal:
        return "0"
    if compressed:
        return "3" if csf_absence_readable and csf_fraction < bilsky_settings().grading.csf_visible_fraction else "2"
    if contact:
        return "1c"
    return "1b" if sac_deformed else "1a"


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _finite_median(values: np.ndarray) -> float:
    """The median of the finite values; 1 (CSF all round: nothing says otherwise) without one."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else 1.0


def _finite_max(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else None


def _finite_min(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.min()) if finite.size else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
