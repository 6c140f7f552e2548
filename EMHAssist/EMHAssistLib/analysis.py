"""The whole analysis of one study, from MRML nodes to the typed report (report_model.Report,
turned into JSON only by outputs.report.to_json).

Each step reads the nodes or the sections built so far and adds its own. Every stage hands over the
model's own types: measurement its statistics and `Ratio`s, the spine stage its `Levels` and
morphology, the differential its `Differential` (it reads the measured sections as `CaseFindings`).
The report is built once, from these types. Nothing here changes a node, so ROIs, segments and
earlier results stay as the user left them.
"""

from collections.abc import Hashable
from dataclasses import dataclass, fields, replace

from . import CAVEAT
from .differential import assess as assess_differential
from .errors import InputError
from .geometry import Labelmap
from .inputs.casefolder import source_of
from .inputs.nodes import check_value_range, sequence_image
from .inputs.noise import caught_messages
from .inputs.plain import Outline, SequenceImage
from .inputs.study import MASS_REGION, RegionSource, Study, read_outlines, region_names, sequence_roles, spine_inputs
from .measurement.ratios import enhancement, region_ratios, sequence_ratios
from .measurement.findings import RegionFinding, RegionFindingCode
from .measurement.regions import RegionMeasurement, measure_region
from .report_model import (
    SCHEMA,
    CaseFindings,
    Clinical,
    Differential,
    Ratio,
    RatioKey,
    RegionStatistics,
    Report,
    SequenceInfo,
    Span,
)
from .outputs.wording import finding_text, region_finding_text
from .settings import measurement_settings
from .spine.compression import LevelsOutcome
from .spine.compression import assess as assess_levels


@dataclass(frozen=True)
class Analysis:
    """The report, and the cord and mass segmentations it was measured from (for overlays)."""

    report: Report
    levels: LevelsOutcome

    @property
    def mass_mask(self) -> Labelmap | None:
        mass = self.levels.mass
        return Labelmap(mass.grid, mass.mask) if mass is not None else None

    @property
    def cord_mask(self) -> Labelmap | None:
        cord = self.levels.cord
        return Labelmap(cord.grid, cord.mask) if cord is not None else None


def analyze(study: Study) -> Report:
    return run_analysis(study).report


def run_analysis(study: Study) -> Analysis:
    # numpy's warnings (a mean of an empty slice) and the C++ libraries' messages become report
    # warnings instead of lines on stderr beside the report.
    with caught_messages() as messages:
        clinical = study.clinical
        images = read_sequences(study)
        measured = {region: measure_outlined(region, study.regions[region], images) for region in _in_vocabulary_order(study.regions, region_names())}
        measurements = {region: measurement for region, (measurement, _) in measured.items()}
        # The mass's outlines as the measurement read and checked them, not read again for the spine.
        mass = measured[MASS_REGION][1] if MASS_REGION in measured else None
        analysis = assemble(study, clinical, images, measurements, assess_levels(spine_inputs(study, mass), images))
    library = tuple(f"analysis: a library reported: {message}" for message in messages)
    return replace(analysis, report=replace(analysis.report, warnings=analysis.report.warnings + library))


def measure_outlined(region: str, sources: list[RegionSource], images: list[SequenceImage]) -> tuple[RegionMeasurement, list[Outline]]:
    """A region measured on its outlines as they stand now, and those outlines; an empty segment left
    out beside painted ones is the measurement's first warning."""
    found, left_out = read_outlines(region, sources)
    measurement = measure_region(region, found, images)
    empty = [RegionFinding(RegionFindingCode.SEGMENT_LEFT_OUT, region, label=label) for label in left_out]
    return replace(measurement, warnings=[*empty, *measurement.warnings]), found


def assemble(
    study: Study,
    clinical: Clinical,
    images: list[SequenceImage],
    measurements: dict[str, RegionMeasurement],
    levels: LevelsOutcome,
) -> Analysis:
    """The report from its measured parts; a live update passes the parts it kept from earlier runs."""
    warnings = [*study.warnings, *_missing_input_warnings(study)]
    stats: dict[str, dict[str, RegionStatistics]] = {}
    for region in _in_vocabulary_order(measurements, region_names()):
        stats[region] = measurements[region].stats
        warnings.extend(region_finding_text(finding) for finding in measurements[region].warnings)
    warnings.extend(finding_text(finding) for finding in levels.warnings)
    mass = levels.levels.mass if levels.levels is not None else None
    findings = CaseFindings(
        regions={region: dict(by_role) for region, by_role in stats.items()},
        ratios=all_ratios(stats),
        enhancement=enhancement(stats),
        mass=Span(mass.from_, mass.to) if mass is not None else None,
        morphology=levels.morphology or {},
        clinical=clinical,
    )
    report = Report(
        schema=SCHEMA,
        case=study.name,
        caveat=CAVEAT,
        sequences={image.role: _describe(study, image) for image in images},
        regions=findings.regions,
        ratios=findings.ratios,
        enhancement=findings.enhancement,
        levels=levels.levels,
        morphology=findings.morphology if levels.morphology is not None else None,
        clinical=clinical,
        warnings=tuple(warnings),
        **_differential_fields(assess_differential(findings)),
    )
    return Analysis(report, levels)


def _differential_fields(differential: Differential) -> dict[str, object]:
    """The differential's sections as the report's fields of the same names (the report keeps them
    at its top level, as emhassist.report/1 writes them)."""
    return {part.name: getattr(differential, part.name) for part in fields(differential)}


def read_sequences(study: Study, values_checked: set[Hashable] | None = None) -> list[SequenceImage]:
    """Each sequence's grid and voxels, in the vocabulary's order. A scene's volume can hold values the
    statistics cannot square (1e200, 1e-300), which a case folder's loader refuses: each volume's voxels
    are checked too, once per content when `values_checked` keeps the (node, voxels' modification time)
    pairs already checked (the live update keeps it across updates: a scan would cost most of one)."""
    if not study.sequences:
        raise InputError(study.name, "no sequence volume (T1, T2, STIR, T1C, ...) was given")
    images = [sequence_image(role, study.sequences[role]) for role in _in_vocabulary_order(study.sequences, sequence_roles())]
    for image in images:
        volume = study.sequences[image.role]
        content = (volume, volume.GetImageData().GetMTime())
        if values_checked is None or content not in values_checked:
            check_value_range(volume.GetName(), image.voxels)
            if values_checked is not None:
                values_checked.add(content)
    return images


def _in_vocabulary_order(named: dict, vocabulary: list[str]) -> list[str]:
    """Reports list sequences and regions in one fixed order, whatever order they were given in."""
    return sorted(named, key=lambda name: vocabulary.index(name) if name in vocabulary else len(vocabulary))


def all_ratios(stats: dict[str, dict[str, RegionStatistics]]) -> dict[RatioKey, Ratio]:
    """Every ratio the regions' statistics give: between regions, and each region's post/pre pairs."""
    ratios = dict(region_ratios(stats))
    for post, pre in measurement_settings().sequence_pairs:
        for region, ratio in sequence_ratios(stats, post, pre).items():
            ratios[RatioKey.of_sequences(region, post, pre)] = ratio
    return ratios


def _missing_input_warnings(study: Study) -> list[str]:
    warnings = [
        f"no {role} sequence: the features that need it are not measured"
        for role in measurement_settings().expected_sequences
        if role not in study.sequences
    ]
    warnings += [f"no {region} region: its ratios are not measured" for region in region_names() if not study.regions.get(region)]
    return warnings


def _describe(study: Study, image: SequenceImage) -> SequenceInfo:
    size = tuple(int(n) for n in image.grid.size_ijk)
    spacing = tuple(round(float(s), 4) for s in image.grid.spacing)
    return SequenceInfo(source_of(study.sequences[image.role]), size, spacing)
