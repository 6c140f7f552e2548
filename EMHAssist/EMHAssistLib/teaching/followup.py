"""Teaching follow-ups: a built-in case and a later exam of the same patient (data/followup.json's
`teaching_pairs`), each a synthetic study whose clinical context names the patient and the exam date,
so `emhassist compare` can match them. The later exam's spec is in data/cases/followup/."""

from dataclasses import replace

from ..errors import InputError
from ..settings import followup_settings
from .phantom import SyntheticStudy, build_study


def follow_up_names() -> list[str]:
    return sorted(followup_settings().teaching_pairs)


def build_pair(name: str, seed: int = 0) -> tuple[SyntheticStudy, SyntheticStudy]:
    """The earlier and the later exam of the teaching follow-up `name`; the later exam's noise is
    drawn from the next seed, as a second acquisition's would be."""
    pairs = followup_settings().teaching_pairs
    if name not in pairs:
        raise InputError(name, f"no such follow-up; known: {', '.join(follow_up_names())}")
    pair = pairs[name]
    exams = (build_study(pair.earlier, seed), build_study(name, seed + 1))
    return tuple(
        replace(exam, clinical={**exam.clinical, "patient": pair.patient, "exam_date": date}) for exam, date in zip(exams, pair.dates)
    )


def exams_of(name: str, seed: int = 0) -> dict[str, SyntheticStudy]:
    """The exams a built-in case is written as, by folder name: a teaching follow-up as its earlier
    exam and itself (both naming the patient and their dates, so that `compare` takes them at once),
    any other case as itself."""
    if name not in follow_up_names():
        return {name: build_study(name, seed)}
    return dict(zip((followup_settings().teaching_pairs[name].earlier, name), build_pair(name, seed)))

