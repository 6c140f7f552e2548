"""A report (emhassist.report/2) judged against a generated case's truth.

The outcomes issue 13 asks for, per case (None where the case has nothing to judge):
- bodies: every body in the field within 8 levels of an anchor (the fused sacrum below S1
  left out) must be reported, inside its body, and within 5 mm (3-D) of its centroid;
- mass levels exact: the report's mass levels hold every level the truth requires and none it
  does not allow (truth.py: borderline levels may be named or not);
- compression levels exact, and off by at most one level at either end;
- MSCC (or, for a mass at the side, the RL ratio) within 10 points of the truth;
- a false compression: a compression reported where the truth has none (healthy spines, masses
  that spare the cord);
- silent: the truth has a compression but the report has none and no warning that some of the
  cord was not assessed.
"""

import numpy as np

from .spine import Spine

BODY_TOLERANCE_MM = 5.0
LEVELS_FROM_ANCHOR = 8
MSCC_TOLERANCE = 10.0
FUSED_SACRUM = ("S2", "S3")
# Every vertebra name a report may use, superior first (the generator models C2-S3).
ORDER = [f"C{n}" for n in range(1, 8)] + [f"T{n}" for n in range(1, 13)] + [f"L{n}" for n in range(1, 6)] + [f"S{n}" for n in range(1, 6)]


def _levels_between(first: str, last: str, order: list[str]) -> list[str]:
    return order[order.index(first):order.index(last) + 1]


def inside_body(spine: Spine, name: str, point: np.ndarray) -> bool:
    level = spine.level_of(name)
    s, u, v = spine.curve.local(np.asarray(point, float)[None, :])
    b, a = level.dims["body_ap"] / 2, level.dims["body_rl"] / 2
    body_v = level.dims["canal_ap"] / 2 + b
    return bool(level.body_top <= s[0] <= level.body_bottom and (u[0] / a) ** 2 + ((v[0] - body_v) / b) ** 2 <= 1.0)


def judge_bodies(report: dict, truth: dict, spine: Spine | None) -> dict:
    order = [v["name"] for v in truth["vertebrae"]]  # the generated bodies, indexed as the truth lists them
    anchors = [order.index(name) for name in truth["anchors"]]
    reported = {v["name"]: v for v in (report.get("levels") or {}).get("vertebrae", [])}
    judged, failures = 0, []
    for index, vertebra in enumerate(truth["vertebrae"]):
        name = vertebra["name"]
        if not vertebra["in_field"] or name in FUSED_SACRUM or name in truth["anchors"] or not anchors:
            continue
        if min(abs(index - a) for a in anchors) > LEVELS_FROM_ANCHOR:
            continue
        judged += 1
        found = reported.get(name)
        if found is None:
            failures.append({"level": name, "problem": "not reported"})
            continue
        distance = float(np.linalg.norm(np.array(found["centre"]) - np.array(vertebra["centroid"])))
        inside = inside_body(spine, name, np.array(found["centre"])) if spine is not None else None
        if distance > BODY_TOLERANCE_MM or inside is False:
            failures.append({"level": name, "problem": "off the body", "distance_mm": round(distance, 2), "inside": inside})
    return {"judged": judged, "within": judged - len(failures), "failures": failures}


def _reported_mass_levels(levels: dict, order: list[str]) -> list[str]:
    mass = levels.get("mass")
    if not mass:
        return []
    spans = mass.get("spans") or [mass]
    return [name for span in spans for name in _levels_between(span["from"], span["to"], order) if name in order]


def judge_case(report: dict, truth: dict, spine: Spine | None = None) -> dict:
    order = ORDER
    levels = report.get("levels") or {}
    outcome: dict = {"bodies": judge_bodies(report, truth, spine)}
    mass = truth.get("mass")
    named = _reported_mass_levels(levels, order)
    if mass is not None:
        outcome["mass_exact"] = set(mass["required"]) <= set(named) <= set(mass["allowed"])
        outcome["mass_levels"] = {"reported": named, "required": mass["required"], "allowed": mass["allowed"]}
    else:
        outcome["mass_exact"] = None
    compression = truth.get("compression")
    found = levels.get("compression")
    warnings = " ".join(report.get("warnings", []))
    outcome["reported_compression"] = None if not found else {k: found.get(k) for k in ("from", "to", "at", "max_mscc_percent", "rl_ratio_percent")}
    if compression is None:
        outcome["false_compression"] = bool(found)
        return outcome
    outcome["false_compression"] = False
    if compression["borderline_presence"]:
        outcome["borderline"] = True
        return outcome
    outcome["silent"] = not found and "not assessed" not in warnings
    if not found or not found.get("from") or not found.get("to"):
        outcome.update(compression_exact=False, compression_off_by_one=False, mscc_within=False)
        return outcome
    named = _levels_between(found["from"], found["to"], order) if found["from"] in order and found["to"] in order else []
    outcome["compression_exact"] = bool(named) and set(compression["required"]) <= set(named) <= set(compression["allowed"])
    ends = [abs(order.index(found[end]) - order.index(compression[end])) for end in ("from", "to") if found[end] in order]
    outcome["compression_off_by_one"] = len(ends) == 2 and max(ends) <= 1
    key, truth_key = ("rl_ratio_percent", "rl_ratio_percent") if compression["measure"] == "RL ratio" else ("max_mscc_percent", "mscc_percent")
    value, expected = found.get(key), compression.get(truth_key)
    outcome["mscc_within"] = value is not None and expected is not None and abs(value - expected) <= MSCC_TOLERANCE
    outcome["mscc"] = {"reported": value, "truth": expected, "measure": compression["measure"]}
    return outcome
