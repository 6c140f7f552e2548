"""The report as a DICOM Structured Report: a TID 1500 Measurement Report written with highdicom.

One measurement group per region (its tissue coded in SNOMED CT where DICOM lists a code), holding
the signal-intensity ratios the region is the numerator of ("no units", UCUM "1", with the 95 %
interval as the measurement's lower and upper uncertainty) and each citing the SOP instances of the
sequences it was measured on. The mass group names the vertebrae it spans as finding sites; the cord
group holds the maximum MSCC and each compressed level as a coded qualitative evaluation; each level
the mass reaches the canal at has a group of its own with its Bilsky grade (a coded evaluation) and
its canal compromise, at the vertebra as finding site; a last group ranks the differential, each
candidate a coded finding with its probability. The caveat is a comment in the report's qualitative
evaluations, where a viewer shows it, and the document's content is qualified as research. Codes live in data/structured_report.json, which says which are
EMHAssist's own because DICOM has none; the document identifies that private scheme.

Each group's TID 1500 tracking UID is derived from the patient and the finding (`tracking_uid`), so
two SRs of one patient, written at two exams, carry the same UID for the same finding and a PACS can
link them (`emhassist compare`); without a patient identifier each SR gets fresh UIDs.
"""

import json
from pathlib import Path

import highdicom as hd
import pydicom
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from ..errors import InputError
from ..inputs.casefolder import DICOM_HEADERS_ATTRIBUTE, source_of
from ..inputs.study import Study
from ..report_model import BilskyEntry, CordCompression, Extent, Levels, RankedDiagnosis, Ratio, Report
from ..settings import measurement_settings
from .sr_codes import Code, sr_codes
from .wording import grade_phrase, graded_levels, spans_of

Evidence = dict[str, list[pydicom.Dataset]]  # sequence role -> headers of the instances measured

# TID 1500's own container for report-level evaluations (PS3.16); pydicom's code list lacks it.
QUALITATIVE_EVALUATIONS = hd.sr.CodedConcept(value="C0034375", scheme_designator="UMLS", meaning="Qualitative Evaluations")


def dicom_evidence(study: Study) -> Evidence:
    """Each sequence's source instance headers; refused unless every sequence was read from DICOM."""
    evidence = {}
    for role, volume in study.sequences.items():
        headers = volume.GetAttribute(DICOM_HEADERS_ATTRIBUTE)
        if not headers:
            raise InputError(source_of(volume), "--sr needs DICOM inputs: every sequence must be a folder holding one DICOM series")
        evidence[role] = [_dataset(header) for header in json.loads(headers)]
    return evidence


def evidence_from_files(files_by_role: dict[str, list[str]]) -> Evidence:
    """Each sequence's source instance headers read from its DICOM files (Slicer's DICOM database
    gives the files of a loaded series); the pixel data is not read."""
    evidence = {}
    for role, files in files_by_role.items():
        if not files:
            raise InputError(role, "the DICOM SR needs the sequence's DICOM files: it was not loaded from DICOM")
        try:
            evidence[role] = [pydicom.dcmread(file, stop_before_pixels=True) for file in files]
        except (OSError, pydicom.errors.InvalidDicomError) as error:
            raise InputError(role, f"a DICOM file of the sequence could not be read ({error})") from None
    return evidence


def write_structured_report(report: Report, evidence: Evidence, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    structured_report(report, evidence).save_as(path)


def structured_report(report: Report, evidence: Evidence) -> hd.sr.Comprehensive3DSR:
    sr_data = sr_codes()
    device = hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID(), name=sr_data.device.name)
    context = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(codes.DCM.Device, device))
    patient = patient_of(report, evidence)
    groups = [_region_group(region, report, evidence, patient) for region in report.regions]
    groups += [_bilsky_group(entry, report.levels.bilsky.sequence, evidence, patient) for entry in graded_levels(report.levels)]
    if report.differential:
        groups.append(_differential_group(report.differential, patient))
    content = hd.sr.MeasurementReport(
        observation_context=context,
        procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=groups,
        title=codes.DCM.ImagingMeasurementReport,
    )
    content[0].ContentSequence.append(_caveat_evaluation(report.caveat))
    private = sr_data.private_scheme
    return hd.sr.Comprehensive3DSR(
        evidence=[dataset for datasets in evidence.values() for dataset in datasets],
        content=content,
        series_instance_uid=hd.UID(),
        series_number=sr_data.series.number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=sr_data.device.manufacturer,
        series_description=sr_data.series.description,
        content_qualification=hd.ContentQualificationValues.RESEARCH,
        coding_schemes=[
            CodingSchemeIdentificationItem(
                designator=private.designator, name=private.name, responsible_organization=private.responsible_organization
            )
        ],
    )


def patient_of(report: Report, evidence: Evidence) -> str | None:
    """The patient the findings belong to: clinical.json's `patient`, else the series' Patient ID."""
    given = report.clinical.patient
    if given:
        return given
    return next((str(dataset.PatientID) for datasets in evidence.values() for dataset in datasets if dataset.get("PatientID")), None)


def tracking_uid(patient: str | None, finding: str) -> hd.UID:
    """The same UID for the same patient and finding, whichever exam's SR holds it; a fresh one without a patient."""
    if not patient:
        return hd.UID()
    return hd.UID(generate_uid(entropy_srcs=["EMHAssist tracking identifier", patient, finding]))


def _caveat_evaluation(caveat: str) -> hd.sr.ContainerContentItem:
    """The caveat as a TEXT comment in TID 1500's "Qualitative Evaluations" container."""
    container = hd.sr.ContainerContentItem(name=QUALITATIVE_EVALUATIONS, relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
    comment = hd.sr.TextContentItem(
        name=concept(sr_codes().concepts.caveat), value=caveat, relationship_type=hd.sr.RelationshipTypeValues.CONTAINS
    )
    container.ContentSequence = hd.sr.ContentSequence([comment])
    return container


def concept(entry: Code) -> hd.sr.CodedConcept:
    """A coded concept from its [scheme, value, meaning] entry in the data file."""
    scheme, value, meaning = entry
    return hd.sr.CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)


def ratio_concept(key: str) -> hd.sr.CodedConcept:
    """A ratio's own concept: the report's key ("T2 mass/cord", "enhancement mass") is its code."""
    private = sr_codes().private_scheme.designator
    concepts = sr_codes().concepts
    _, _, meaning = concepts.enhancement if key.startswith("enhancement ") else concepts.ratio
    return hd.sr.CodedConcept(value=key, scheme_designator=private, meaning=f"{meaning}: {key}")


def vertebra_concept(name: str) -> hd.sr.CodedConcept:
    """SNOMED CT's code for a vertebra where DICOM lists one (C1-L5), else EMHAssist's own."""
    code = getattr(codes.SCT, f"{name}Vertebra", None)
    if code is not None:
        return hd.sr.CodedConcept(value=code.value, scheme_designator=code.scheme_designator, meaning=code.meaning)
    private = sr_codes().private_scheme.designator
    return hd.sr.CodedConcept(value=name, scheme_designator=private, meaning=f"{name} vertebra")


def _region_group(region: str, report: Report, evidence: Evidence, patient: str | None) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    sr_data = sr_codes()
    coding = sr_data.regions[region]
    measurements = [
        _measurement(key.text, ratio, key.roles, evidence)
        for key, ratio in report.ratios.items()
        if key.owner == region
    ]
    if region in report.enhancement:
        roles = measurement_settings().enhancement
        post, pre = roles.post, roles.pre
        measurements.append(_measurement(f"enhancement {region}", report.enhancement[region], (post, pre), evidence))
    sites = [hd.sr.FindingSite(concept(coding.finding_site))] if coding.finding_site else []
    levels = report.levels
    evaluations = []
    if region == "mass" and levels and levels.mass:
        sites += [hd.sr.FindingSite(vertebra_concept(name)) for name in _span(levels, levels.mass)]
    if region == "cord" and levels and levels.compression:
        compression = levels.compression
        evaluations = [
            hd.sr.QualitativeEvaluation(concept(sr_data.concepts.compression), vertebra_concept(name))
            for name in _span(levels, compression)
        ]
        if compression.max_mscc_percent is not None:
            measurements.append(
                hd.sr.Measurement(
                    name=concept(sr_data.concepts.mscc),
                    value=compression.max_mscc_percent,
                    unit=concept(sr_data.units.percent),
                    finding_sites=[hd.sr.FindingSite(vertebra_concept(compression.at))] if compression.at else None,
                )
            )
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(patient, region), identifier=region),
        finding_type=concept(coding.finding_type),
        finding_sites=sites or None,
        measurements=measurements or None,
        qualitative_evaluations=evaluations or None,
    )


def _bilsky_group(entry: BilskyEntry, sequence: str, evidence: Evidence, patient: str | None) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """One level's Bilsky grade: a finding at the vertebra, the grade a coded evaluation (EMHAssist's
    own codes: DICOM has none for the scale), its canal compromise a measurement citing the instances
    of the sequence it was read on; tracked per level, so two exams' SRs link the same level's grades."""
    sr_data = sr_codes()
    private = sr_data.private_scheme.designator
    grade = hd.sr.CodedConcept(value=f"bilsky-{entry.grade}", scheme_designator=private, meaning=grade_phrase(entry.grade))
    canal = [
        hd.sr.Measurement(
            name=concept(sr_data.concepts.mcc),
            value=entry.mcc_percent,
            unit=concept(sr_data.units.percent),
            referenced_images=_sources((sequence,), evidence) or None,
        )
    ] if entry.mcc_percent is not None else []
    finding = f"bilsky {entry.level}"
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(patient, finding), identifier=finding),
        finding_type=concept(sr_data.concepts.bilsky_group),
        finding_sites=[hd.sr.FindingSite(vertebra_concept(entry.level))],
        measurements=canal or None,
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(concept(sr_data.concepts.bilsky_grade), grade)],
    )


def _differential_group(ranking: tuple[RankedDiagnosis, ...], patient: str | None) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    sr_data = sr_codes()
    private = sr_data.private_scheme.designator
    codes_of = sr_data.diagnoses
    evaluations = [hd.sr.QualitativeEvaluation(concept(sr_data.concepts.differential), concept(codes_of[entry.id])) for entry in ranking]
    probabilities = [
        hd.sr.Measurement(
            name=hd.sr.CodedConcept(value=f"probability {entry.id}", scheme_designator=private, meaning=f"Probability of {entry.name}"),
            value=entry.probability,
            unit=concept(sr_data.units.ratio),
        )
        for entry in ranking
    ]
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(patient, "differential"), identifier="differential"),
        finding_type=concept(sr_data.concepts.differential_group),
        measurements=probabilities,
        qualitative_evaluations=evaluations,
    )


def _measurement(key: str, ratio: Ratio, roles: tuple[str, ...], evidence: Evidence) -> hd.sr.Measurement:
    low, high = ratio.ci95
    value = ratio.value
    return hd.sr.Measurement(
        name=ratio_concept(key),
        value=value,
        unit=concept(sr_codes().units.ratio),
        properties=hd.sr.MeasurementProperties(upper_measurement_uncertainty=high - value, lower_measurement_uncertainty=value - low),
        referenced_images=_sources(roles, evidence) or None,
    )


def _sources(roles: tuple[str, ...], evidence: Evidence) -> list[hd.sr.SourceImageForMeasurement]:
    """The instances of the sequences a measurement was made on."""
    return [hd.sr.SourceImageForMeasurement(dataset.SOPClassUID, dataset.SOPInstanceUID) for role in roles for dataset in evidence.get(role, [])]


def _span(levels: Levels, extent: Extent | CordCompression) -> list[str]:
    """The vertebrae of each span of an extent, superior first (a T5–T9 and S1–S3 mass names no
    lumbar vertebra); a span whose ends are not among the identified vertebrae names its ends."""
    codes_by_name = {vertebra.name: vertebra.code for vertebra in levels.vertebrae}
    names: list[str] = []
    for span in spans_of(extent):
        if span.from_ in codes_by_name and span.to in codes_by_name:
            low, high = codes_by_name[span.from_], codes_by_name[span.to]
            names += [vertebra.name for vertebra in levels.vertebrae if low <= vertebra.code <= high]
        else:
            names += [name for name in (span.from_, span.to) if name]
    return list(dict.fromkeys(names))


# Patient and study attributes of DICOM type 2 (present, possibly empty) that the SR copies from its
# evidence; a scanner or PACS export may leave them out, and the SR then carries them empty.
_TYPE_2_COPIED = ("PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyID", "StudyDate", "StudyTime", "ReferringPhysicianName")


def _dataset(header: dict[str, str]) -> pydicom.Dataset:
    dataset = pydicom.Dataset()
    for keyword in _TYPE_2_COPIED:
        setattr(dataset, keyword, "")
    for keyword, value in header.items():
        setattr(dataset, keyword, value)
    return dataset
