"""The Bilsky grade of each level of a generated spine, from the generator's own model.

`truth.level_facts` records, per level, what Bilsky's scale asks of the image (Bilsky et al.,
J Neurosurg Spine 2010;13:324-328): an epidural mass at the level (`mass_present`), the thecal sac
deformed by it (its front inside the healthy sac), the cord contacted (no CSF between dura and cord
at some section), the cord deformed (narrowed by 5 % or more) and the smallest share of the cord's
outline with CSF 0.5 mm outside it (`csf_fraction_min`). The grade follows the scale's words, the
most severe finding first. "No CSF visible" (grade 3) is read as CSF around less than a quarter of
the cord's outline: a cord pressed against the far side of the sac keeps CSF on its flanks (a
third to a half of its outline in the generator), which a reader sees as CSF around the cord.

"Cord compressed" (grades 2 and 3) is the generator's compression truth (`truth.compression_truth`),
so the grades and the compressed levels a report must name agree, as the report's own surfaces must:
a level is compressed where the compression truth names it under some reading (`allowed`), and
certainly so where every reading does (`required`). A cord narrowed 5 % beside a mass with no
compression in the truth (a peak under 15 %: 0.4 mm of an 8 mm cord, under a voxel) reads 1c, as it
did not before (2): the two truths disagreed on seeds 8, 14 and 27 (bilsky10, 2026-12-06), and no
report could satisfy both. Where the compression itself is borderline (a level only some readings
name, or a peak between 15 and 25 %), either grade is accepted (`accepted_grades`).

A sac dented by less than a voxel (`sub_voxel_dent`) is not something the image shows: where the
level's deepest dent (`sac_dent_mm`: the mass's front inside the healthy sac) is shallower than the
acquisition's voxel is long along the dent in the level's axial section (`dent_voxel_mm`: the grid's
three voxel steps projected on the dent's direction; on a sagittal stack the in-plane pixel, 0.5-1.2
mm, for a mass in front or behind, the slice thickness, 0.8-4 mm, for one at the side; on an axial
stack the in-plane pixel), grade 1b accepts 1a as well, as a borderline compression accepts 1c or 2.
The edge such a dent moves lies within one voxel's partial-volume ramp (scan.py) of where it was.
Lead's decision, session 12 (2026-12-06): 4 of the 6 truth-1b levels the engine read 1a on seeds
1-40 had dents of 0.41-0.96 mm.

A mass at a level follows the mass truth's own readings (`truth.mass_runs`, `truth._judged_levels`).
`mass_present` counts any section with an epidural mass, down to its tapering tips, while the mass
truth names a level only where the mass covers enough of it thickly enough: at least 1 mm thick over
a quarter of the level (nominal), 2 mm over 35 % (strict), 0.3 mm over 15 % (lenient). A level no
reading but the lenient one names, or none (`thin_mass`), holds a mass about a voxel thick or less
(voxels here 0.5-1.2 mm in-plane, 0.8-4 mm across slices) or only its tip: a report whose mass levels
agree with the truth's leaves the level out, and its grade there may be 0 as well as the facts' grade
(which stays the truth's grade), as a sub-voxel dent accepts 1a. Lead's decision, session 13
(2026-12-07): of the 9 levels of seeds 1-40 read 0 where the truth has a mass (2026-12-06), the
truth's thickest mass was 0.12-1.00 mm on 6.

The cord's contact follows the same two rules (`contact_readings`; bilsky14, 2026-12-07). A finding
involves a level where it covers a quarter of its height, as the mass's and the compression's levels
are read: a contact over less of the level (`contact_share`: the mass's tip reaching the cord at the
level's edge, where a report's level planes lie a millimetre or two from the generator's) accepts the
grade without it as well (1b beside 1c). And the CSF the generator leaves between a mass and the cord
it spares (1 mm, `spine.RESIDUAL_CSF_MM`, or less where the mass's front recedes) is not seen where it
is thinner than the voxel is long across it (`csf_layer_unresolved`: `dent_voxel_mm` along the mass's
direction, the shorter of the two for a mass all round), as a sub-voxel dent is not: 1c is accepted
beside 1b. The truth's own grade stays the facts' (`bilsky_truth`). On seeds 1-40 (the 07:10 reports
re-graded, engine not run): generated seeds 16 T1 and 38 T1 (axial, contact over 10 % and 21 % of
the level's bottom, read 1b) and 29 T4 and 31 C2 (sagittal, 0.9-1.0 mm of CSF against 1.15-1.4 mm
slices, read 1c) became exact; no grade was taken away from any level.
"""

from .anatomy import level_code, level_names
from .truth import LEVEL_FRACTION

GRADES = ("0", "1a", "1b", "1c", "2", "3")
NO_CSF_BELOW = 0.25


def bilsky_grade(facts: dict, compressed: bool) -> str:
    """The grade of one level from its `level_facts` entry, `compressed` when the compression truth names it."""
    if not facts["mass_present"]:
        return "0"
    if compressed and facts["cord_deformed"]:
        return "3" if facts["csf_fraction_min"] < NO_CSF_BELOW else "2"
    if facts["cord_contacted"] or compressed:
        return "1c"
    if facts["thecal_sac_deformed"]:
        return "1b"
    return "1a"


def sub_voxel_dent(facts: dict) -> bool:
    """The level's sac is dented less deep than a voxel is long along the dent: 1a and 1b alike."""
    return facts["sac_dent_mm"] < facts["dent_voxel_mm"]


def thin_mass(truth: dict) -> set[str]:
    """The levels the mass truth names only under its lenient reading (0.3 mm) or not at all (its
    nominal `levels` and strict `required` leave them out): a mass there may read as none."""
    mass = truth.get("mass") or {}
    named = set(mass.get("levels", [])) | set(mass.get("required", []))
    return set(truth["levels"]) - named


def contact_readings(facts: dict) -> list[dict]:
    """The level's facts as the image may show its contact: as they are, without the contact where
    it covers less than a quarter of the level (`contact_share`), with it where the CSF left between
    the mass and the cord is thinner than a voxel along them (`csf_layer_unresolved`)."""
    readings = [facts]
    if 0 < facts.get("contact_share", 0.0) < LEVEL_FRACTION["nominal"]:
        readings.append(facts | {"cord_contacted": False})
    if facts.get("csf_layer_unresolved", False):
        readings.append(facts | {"cord_contacted": True})
    return readings


def _compression_readings(truth: dict) -> tuple[set[str], set[str]]:
    """The levels the compression truth names under some reading, and under every reading."""
    compression = truth.get("compression") or {}
    allowed = set(compression.get("allowed", []))
    certain = set(compression.get("required", [])) if not compression.get("borderline_presence") else set()
    return allowed, certain


def accepted_grades(truth: dict) -> dict[str, set[str]]:
    """Every graded level of a case's truth (`case_truth(...)`), by name: the grades a report may give it."""
    allowed, certain = _compression_readings(truth)
    thin = thin_mass(truth)
    accepted = {}
    for name, facts in truth["levels"].items():
        grades = {bilsky_grade(reading, name in named) for reading in contact_readings(facts) for named in (allowed, certain)}
        accepted[name] = grades | ({"1a"} if "1b" in grades and sub_voxel_dent(facts) else set()) | ({"0"} if name in thin else set())
    return accepted


def bilsky_truth(truth: dict) -> dict[str, str]:
    """Every graded level's grade from its facts as they are, where its compression is certain or
    certainly absent; a borderline level is given its grade as compressed (the more severe of the two)."""
    allowed, certain = _compression_readings(truth)
    return {name: max((bilsky_grade(facts, name in allowed), bilsky_grade(facts, name in certain)), key=GRADES.index) for name, facts in truth["levels"].items()}


def compared_levels(report: dict, truth: dict) -> list[dict]:
    """The levels both the report and the truth grade, each as {level, truth, reported, upstream_agrees,
    truth_facts, measured} (the truth's per-level facts and the report's quantities, to see which is wrong):
    a level both call 0 is left out (healthy levels far from the mass would swamp the figure).
    `upstream_agrees`: the report's mass and compressed levels name this level exactly when the
    truth's do, so a wrong grade there is the grading's own, not the mass's growth or the
    compression's detection upstream of it."""
    section = (report.get("levels") or {}).get("bilsky")
    if not section:
        return []
    expected, accepted = bilsky_truth(truth), accepted_grades(truth)
    reported_mass = _named(report["levels"].get("mass"))
    reported_compression = _named(report["levels"].get("compression"))
    true_mass = set((truth.get("mass") or {}).get("levels", []))
    true_compression = set((truth.get("compression") or {}).get("levels", []))
    rows = []
    for level in section["levels"]:
        name, grade = level["level"], level["grade"]
        if name not in expected or (expected[name] == "0" and grade == "0"):
            continue
        agrees = (name in reported_mass) == (name in true_mass) and (name in reported_compression) == (name in true_compression)
        measured = {key: value for key, value in level.items() if key not in ("level", "code", "grade", "explanation", "explanation_code")}
        rows.append({"level": name, "truth": expected[name], "accepted": sorted(accepted[name], key=GRADES.index), "reported": grade, "upstream_agrees": agrees,
                     "truth_facts": truth["levels"][name], "measured": measured})
    return rows


def _named(extent: dict | None) -> set[str]:
    """The level names an extent ({from, to} or with spans) covers."""
    if not extent or not extent.get("from"):
        return set()
    names = level_names()
    spans = extent.get("spans") or [extent]
    return {name for span in spans for name in names if level_code(span["from"]) <= level_code(name) <= level_code(span["to"])}


def agreement(rows: list[dict]) -> dict:
    """Exact and within-one-grade agreement, overall and by truth grade."""
    def summary(subset: list[dict]) -> dict:
        off = [min(abs(GRADES.index(row["reported"]) - GRADES.index(grade)) for grade in row["accepted"]) for row in subset]
        return {"levels": len(subset), "exact": sum(d == 0 for d in off), "within_one": sum(d <= 1 for d in off), "max_off": max(off, default=0)}

    return {"all": summary(rows), "by_truth_grade": {grade: summary([row for row in rows if row["truth"] == grade]) for grade in GRADES},
            "upstream_agrees": summary([row for row in rows if row["upstream_agrees"]]), "confusion": confusion(rows)}


def confusion(rows: list[dict]) -> dict[str, dict[str, int]]:
    """How many levels of each truth grade were reported as each grade: {truth: {reported: count}}."""
    return {truth: {reported: sum(row["truth"] == truth and row["reported"] == reported for row in rows) for reported in GRADES} for truth in GRADES}
