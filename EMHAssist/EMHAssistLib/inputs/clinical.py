"""The clinical context of a case, checked against the vocabulary of data/differential/clinical_terms.json.

A context is a plain dict, as clinical.json and the Slicer panel give it:

    {"age": 79, "sex": "male", "conditions": ["myelodysplastic_syndrome"], "findings": ["fever"],
     "primary": "breast", "patient": "EMH-0042", "exam_date": "2026-06-02"}

Every part is optional. `primary` names the site of a known primary cancer and is accepted only
with the condition `known_primary_cancer`. Anything outside the vocabulary is refused with an
`InputError` whose one line names the field and lists the known terms, so a typo can never
silently drop a term from the priors. `patient` (an identifier, not a term) and `exam_date`
(YYYY-MM-DD) feed no prior: they let `emhassist compare` match two exams of one patient.
"""

import datetime
import functools
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..knowledge import load
from ..report_model import Clinical

TERMS_FILE = "EMHAssistLib/data/differential/clinical_terms.json"
_FIELDS = ("age", "sex", "conditions", "findings", "primary", "patient", "exam_date")
_PATIENT_MAX_CHARS = 64  # DICOM's Patient ID (LO) holds at most 64 characters
_TERM_SECTIONS = ("sex", "conditions", "findings", "primaries")


@dataclass(frozen=True)
class ClinicalTerms:
    """The accepted terms with their labels, and the accepted age range."""

    version: int
    sex: dict[str, str]
    conditions: dict[str, str]
    findings: dict[str, str]
    primaries: dict[str, str]
    age_range: tuple[float, float]

    @classmethod
    def from_raw(cls, raw: Any, subject: str = TERMS_FILE) -> "ClinicalTerms":
        if not isinstance(raw, dict) or not isinstance(raw.get("version"), int):
            raise InputError(subject, "must be a JSON object with an integer 'version'")
        sections = {name: _term_section(raw, name, subject) for name in _TERM_SECTIONS}
        age = raw.get("age")
        if (
            not isinstance(age, dict)
            or not all(_is_number(age.get(key)) for key in ("min", "max"))
            or age["min"] >= age["max"]
        ):
            raise InputError(subject, "'age' must be an object with numbers 'min' < 'max'")
        return cls(version=raw["version"], age_range=(age["min"], age["max"]), **sections)

    def label(self, term: str) -> str:
        """The reader's label of any condition, finding, primary or sex."""
        for section in (self.conditions, self.findings, self.primaries, self.sex):
            if term in section:
                return section[term]
        raise KeyError(term)


@functools.cache
def clinical_terms() -> ClinicalTerms:
    return ClinicalTerms.from_raw(load("differential/clinical_terms"))


def clinical_context(clinical: Any, subject: str = "clinical.json", terms: ClinicalTerms | None = None) -> Clinical:
    """The checked clinical context as the report's frozen `Clinical`, built once where a case is read (its
    clinical.json, a built-in case's spec, the Slicer panel's fields) and held by `Study.clinical`."""
    checked = validate_clinical(clinical, subject, terms)
    return Clinical(**{name: tuple(value) if isinstance(value, list) else value for name, value in checked.items()})


def validate_clinical(clinical: Any, subject: str = "clinical.json", terms: ClinicalTerms | None = None) -> dict:
    """A checked copy of `clinical` (lists without repeats, order kept); raises InputError on any unknown term."""
    terms = terms or clinical_terms()
    if clinical is None:
        return {}
    if not isinstance(clinical, dict):
        raise InputError(subject, f"must be a JSON object with some of: {', '.join(_FIELDS)}")
    unknown = sorted(set(clinical) - set(_FIELDS))
    if unknown:
        raise InputError(subject, f"unknown field '{unknown[0]}'; known: {', '.join(_FIELDS)}")
    checked: dict[str, Any] = {}
    if clinical.get("age") is not None:
        checked["age"] = _checked_age(clinical["age"], subject, terms)
    if clinical.get("sex") is not None:
        checked["sex"] = _checked_term(clinical["sex"], "sex", terms.sex, subject)
    for field, section, singular in (
        ("conditions", terms.conditions, "condition"),
        ("findings", terms.findings, "finding"),
    ):
        if clinical.get(field) is not None:
            checked[field] = _checked_list(clinical[field], field, singular, section, subject)
    if clinical.get("primary") is not None:
        if "known_primary_cancer" not in checked.get("conditions", []):
            raise InputError(subject, "'primary' is given but 'known_primary_cancer' is not among the conditions")
        checked["primary"] = _checked_term(clinical["primary"], "primary", terms.primaries, subject)
    if clinical.get("patient") is not None:
        checked["patient"] = _checked_patient(clinical["patient"], subject)
    if clinical.get("exam_date") is not None:
        checked["exam_date"] = _checked_date(clinical["exam_date"], subject)
    return checked


def _checked_patient(patient: Any, subject: str) -> str:
    if not isinstance(patient, str) or not patient.strip() or len(patient) > _PATIENT_MAX_CHARS or not patient.isprintable():
        raise InputError(subject, f"'patient' must be a printable identifier of 1 to {_PATIENT_MAX_CHARS} characters")
    return patient.strip()


def _checked_date(date: Any, subject: str) -> str:
    """`date` when it is a date written YYYY-MM-DD; InputError naming `subject` when it is not one
    (clinical.json, a stored report). Written exactly so: Python reads other ISO forms too (a week date,
    2026-W23-1), which a stored report keeps as written and `compare` orders as text."""
    if isinstance(date, str):
        try:
            if datetime.date.fromisoformat(date).isoformat() == date:
                return date
        except ValueError:
            pass
    raise InputError(subject, f"'exam_date' must be a date written YYYY-MM-DD, not {date!r}")


def _term_section(raw: dict, name: str, subject: str) -> dict[str, str]:
    section = raw.get(name)
    if not isinstance(section, dict) or not section:
        raise InputError(subject, f"'{name}' must be a non-empty object of term -> label")
    for term, label in section.items():
        if not term.isidentifier() or term != term.lower() or not isinstance(label, str) or not label.strip():
            raise InputError(subject, f"{name} '{term}': a term must be a lower-case identifier with a non-empty label")
    return dict(section)


def _checked_age(age: Any, subject: str, terms: ClinicalTerms) -> int:
    """Whole years, as the report holds them (`Clinical.age: int`): 60.0 and -0.0 are read as 60 and 0;
    60.5 is refused (it reached the report model and ended in a traceback, as -0.0 did)."""
    low, high = terms.age_range
    if not _is_number(age) or not low <= age <= high or age != int(age):
        raise InputError(subject, f"age must be a number of years from {low:g} to {high:g} (whole years), not {age!r}")
    return int(age)


def _checked_term(value: Any, field: str, known: dict[str, str], subject: str) -> str:
    if not isinstance(value, str) or value not in known:
        raise InputError(subject, f"unknown {field} {value!r}; known: {', '.join(known)}")
    return value


def _checked_list(values: Any, field: str, singular: str, known: dict[str, str], subject: str) -> list[str]:
    if not isinstance(values, list):
        raise InputError(subject, f"'{field}' must be a list of terms; known: {', '.join(known)}")
    checked: list[str] = []
    for value in values:
        _checked_term(value, singular, known, subject)
        if value not in checked:
            checked.append(value)
    return checked


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
