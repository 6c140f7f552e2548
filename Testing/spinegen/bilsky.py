"""The Bilsky grade of each level of a generated spine, from the generator's own model.

`truth.level_facts` records, per level, what Bilsky's scale asks of the image (Bilsky et al.,
J Neurosurg Spine 2010;13:324-328): an epidural mass at the level (`mass_present`), the thecal sac
deformed by it (its front inside the healthy sac), the cord contacted (no CSF between dura and cord
at some section), the cord deformed (narrowed by 5 % or more) and the smallest share of the cord's
outline with CSF 0.5 mm outside it (`csf_fraction_min`). The grade follows the scale's words, the
most severe finding first. "No CSF visible" (grade 3) is read as CSF around less than a quarter of
the cord's outline: a cord pressed against the far side of the sac keeps CSF on its flanks (a
third to a half of its outline in the generator), which a reader sees as CSF around the cord.
"""

GRADES = ("0", "1a", "1b", "1c", "2", "3")
NO_CSF_BELOW = 0.25


def bilsky_grade(facts: dict) -> str:
    """The grade of one level from its `level_facts` entry."""
    if not facts["mass_present"]:
        return "0"
    if facts["cord_deformed"]:
        return "3" if facts["csf_fraction_min"] < NO_CSF_BELOW else "2"
    if facts["cord_contacted"]:
        return "1c"
    if facts["thecal_sac_deformed"]:
        return "1b"
    return "1a"


def bilsky_truth(truth: dict) -> dict[str, str]:
    """Every graded level of a case's truth (`case_truth(...)["levels"]`), by name."""
    return {name: bilsky_grade(facts) for name, facts in truth["levels"].items()}
