"""`emhassist analyze --html / --sr / --csv`: the self-contained HTML page, the DICOM Structured
Report and the batch CSV, each checked against the JSON report of the same analysis."""

import base64
import csv
import io
import json
import re
import shutil
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from dataclasses import replace
from types import SimpleNamespace

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
import vtk
from EMHAssistLib import number_format as numbers
from EMHAssistLib.analysis import analyze, run_analysis
from EMHAssistLib.errors import InputError
from EMHAssistLib.frontends.cli import main
from EMHAssistLib.geometry import Grid, Labelmap
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.knowledge import load
from EMHAssistLib.outputs.key_images import key_images, mass_sites
from EMHAssistLib.outputs.report import differential_lines, from_json, ratio_text
from EMHAssistLib.outputs.report_html import STYLE, html_page
from EMHAssistLib.outputs.structured_report import (
    dicom_evidence,
    evidence_from_files,
    structured_report,
    write_structured_report,
)
from EMHAssistLib.outputs.wording import summary_line
from EMHAssistLib.report_codec import plain_value
from EMHAssistLib.report_model import Extent, Report, Span
from EMHAssistLib.spine.vertebrae import code_of
from EMHAssistLib.teaching.cases import DEFAULT_CASE, build_study, study_into_scene
from pydicom.sr.codedict import codes
from golden_outputs import GOLDENS, golden_report
from pypdf import PdfReader
from small_case import write_small_case
from test_cli import corrupt, write_independent_dicom_series
from vtk.util import numpy_support

SECTIONS = ["images", "levels", "ratios", "differential", "warnings", "regions", "references"]
CAVEAT_START = "Research and teaching use only"


def built_in_case(folder: Path) -> Path:
    save_case_folder(study_into_scene(build_study(DEFAULT_CASE), new_headless_scene()), folder)
    return folder


def analyse(case: Path, *options: str) -> None:
    code = main(["analyze", str(case), *options])
    assert code == 0


@pytest.fixture(scope="module")
def html_case(tmp_path_factory) -> tuple[dict, str]:
    folder = tmp_path_factory.mktemp("html")
    case = built_in_case(folder / DEFAULT_CASE)
    analyse(case, "--json", str(folder / "report.json"), "--html", str(folder / "report.html"))
    return json.loads((folder / "report.json").read_text()), (folder / "report.html").read_text(encoding="utf-8")


class Page(HTMLParser):
    """The elements of a page: every tag with its attributes, section ids, and the text of each section."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.section_text: dict[str, str] = {}
        self._section: str | None = None
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.style = ""
        self._in_style = False
        self._in_cell = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "section":
            self._section = attributes["id"]
            self.section_text[self._section] = ""
            self.tables[self._section] = []
        elif tag == "table":
            self.tables[self._section].append([])
        elif tag == "tr":
            self.tables[self._section][-1].append([])
        elif tag in ("td", "th"):
            self.tables[self._section][-1][-1].append("")
            self._in_cell = True
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None
        if tag == "style":
            self._in_style = False
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data
        elif self._section is not None:
            self.section_text[self._section] += data
            if self._in_cell:
                self.tables[self._section][-1][-1][-1] += data


def decode_png(data: bytes, folder: Path) -> np.ndarray:
    path = folder / "image.png"
    path.write_bytes(data)
    reader = vtk.vtkPNGReader()
    assert reader.CanReadFile(str(path)), "not a PNG"
    reader.SetFileName(str(path))
    reader.Update()
    width, height, _ = reader.GetOutput().GetDimensions()
    scalars = reader.GetOutput().GetPointData().GetScalars()
    return numpy_support.vtk_to_numpy(scalars).reshape(height, width, -1)


def test_html_parses_with_every_section_and_the_caveat_at_top_and_foot(html_case):
    report, text = html_case
    page = Page(text)
    assert list(page.section_text) == SECTIONS
    unescaped = unescape(text)
    assert unescaped.count(report["caveat"]) == 2
    assert unescaped.index(report["caveat"]) < unescaped.index('<section id="images">')
    assert "@media print" in page.style and "@page" in page.style


def test_every_image_is_an_embedded_png_that_shows_the_case_and_its_overlays(html_case, tmp_path):
    report, text = html_case
    sources = [attributes["src"] for tag, attributes in Page(text).tags if tag == "img"]
    assert len(sources) == 2 + len(report["sequences"]) - 1  # sagittal and axial on T2, sagittal on the others
    mass_colour = 255 * np.array(load("overlays")["segments"]["regions"]["mass"]["color"])
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        pixels = decode_png(base64.b64decode(source.removeprefix("data:image/png;base64,")), tmp_path)[..., :3].astype(float)
        assert pixels.shape[0] >= 200 and pixels.shape[1] >= 200
        assert pixels.std() > 20, "a blank image"
        # The mass segment is outlined over the image: its hue shows where it lies.
        reddish = (pixels[..., 0] > pixels[..., 2] + 60) & (np.abs(pixels - mass_colour).sum(axis=-1) < 400)
        assert reddish.sum() > 50, "no mass overlay"


def test_the_page_loads_nothing_from_anywhere(html_case):
    _, text = html_case
    page = Page(text)
    for tag, attributes in page.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        for name, value in attributes.items():
            if name in ("src", "href", "srcset", "data", "action", "poster"):
                assert value.startswith(("data:", "#")), (tag, name, value[:60])
    assert not re.search(r"url\(|@import", page.style)
    without_images = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+|'sha256-[A-Za-z0-9+/=]+'", "", text)
    assert not re.search(r"(?:https?|ftp):|//[a-z]", without_images, re.IGNORECASE)


def test_the_pages_values_are_the_json_reports(html_case):
    report, text = html_case
    page = Page(text)
    grid, enhancement = page.tables["ratios"]
    cells = {(row[0], column): cell for row in grid[1:] for column, cell in zip(grid[0][1:], row[1:])}
    typed = from_json(report, "report.json")
    expected = {(key.region_label, key.sequence_label): ratio_text(ratio) for key, ratio in typed.ratios.items()}
    assert {place: cell for place, cell in cells.items() if cell != "—"} == expected
    assert {row[0]: row[1] for row in enhancement[1:]} == {region: ratio_text(value, percent=True) for region, value in typed.enhancement.items()}
    assert summary_line(typed.levels) in text
    compression = report["levels"]["compression"]
    summary_rows = {row[0]: row[1] for row in page.tables["levels"][0]}
    assert summary_rows[f"MSCC at {compression['at']}"] == f"{compression['max_mscc_percent']:.0f} %"
    assert summary_rows[f"Area ratio at {compression['at']}"] == f"{compression['area_ratio_percent']:.0f} %"
    differential = page.section_text["differential"]
    places = [differential.index(f"{place}. {entry['name']} — {numbers.probability(entry['probability'])}") for place, entry in enumerate(report["differential"][:3], 1)]
    assert places == sorted(places)
    for item in report["differential"][0]["evidence"]:
        assert item["text"] in differential
    cited = {ref for entry in report["differential"] for item in entry["evidence"] for ref in item["refs"]}
    references = load("differential/references")["references"]
    for ref in cited:  # the full citation (issue 17 point 5): its title, journal, year, DOI and PMID, not just the key
        shown = [references[ref].get(field) for field in ("title", "described_as", "journal", "year", "doi", "pmid") if references[ref].get(field)]
        assert shown and all(str(value) in page.section_text["references"] for value in shown), ref


def two_site_analysis(compressed_at: str | None) -> SimpleNamespace:
    """A mass of 16 voxels at T5–T6 and 36 at T8 on a 1 mm grid whose k runs head-foot, bodies 10 mm apart."""
    mask = np.zeros((60, 12, 12), dtype=bool)
    mask[2:18, 5, 5] = True  # nearest to T5 and T6
    mask[31:40, 4:6, 4:6] = True  # nearest to T8
    vertebrae = [{"name": f"T{n}", "code": code_of(f"T{n}"), "centre": [6.0, 0.0, 10.0 * (n - 4) - 5]} for n in range(4, 10)]
    compression = {"from": compressed_at, "to": compressed_at, "at": compressed_at} if compressed_at else None
    mass = {"from": "T5", "to": "T8", "spans": [{"from": "T5", "to": "T6"}, {"from": "T8", "to": "T8"}]}
    return SimpleNamespace(report=_with_levels(vertebrae, mass, compression), mass_mask=Labelmap(Grid(mask.shape, np.eye(4)), mask))


def _with_levels(vertebrae: list[dict], mass: dict, compressed: dict | None) -> Report:
    """The built-in case's stored report with these bodies, mass extent and compressed levels."""
    levels = json.loads((GOLDENS / DEFAULT_CASE / "report.json").read_text(encoding="utf-8"))["levels"]
    compression = levels["compression"] | compressed if compressed else None
    bodies = [vertebra | {"source": "user"} for vertebra in vertebrae]
    # Its cord profile and grades name its own levels T1-L1: left out with them, as a stored report must name only its bodies.
    return golden_report(levels=levels | {"vertebrae": bodies, "mass": mass, "compression": compression, "cord_profile": [], "bilsky": None})


def test_a_mass_in_two_spans_is_viewed_at_each_the_compressed_one_first():
    for compressed_at, first in (("T6", "T5"), (None, "T8"), ("T8", "T8")):
        sites = mass_sites(two_site_analysis(compressed_at))
        assert [span.from_ for span, _ in sites] == [first, "T8" if first == "T5" else "T5"], compressed_at
        centres = {span.from_: through for span, through in sites}
        assert centres["T5"][2] == pytest.approx(9.5) and centres["T8"][2] == pytest.approx(35)
        assert all(through[0] == 6.0 for through in centres.values()), "on the levels' mid-sagittal plane"


def test_the_html_report_of_a_two_span_mass_shows_each_span_sagittally(tmp_path):
    """The built-in case's mass stated as T5–T6 and T8: a sagittal view of each on T2, the compressed span's first."""
    study = study_into_scene(build_study(DEFAULT_CASE), new_headless_scene())
    analysis = run_analysis(study)
    two_spans = Extent("T5", "T8", (Span("T5", "T6"), Span("T8", "T8")))
    analysis = replace(analysis, report=replace(analysis.report, levels=replace(analysis.report.levels, mass=two_spans)))
    assert analysis.report.levels.compression.at == "T6"
    images = key_images(study, analysis)
    assert [image.title for image in images] == ["T2 sagittal", "T2 axial", "T2 sagittal", "T1 sagittal", "T1C sagittal"]
    assert images[0].caption.startswith("Sagittal slice through the mass at T5–T6:")
    assert images[2].caption.startswith("Sagittal slice through the mass at T8:")
    assert images[0].png != images[2].png


def test_a_cord_narrowed_from_the_side_is_stated_by_its_rl_ratio_first(html_case):
    """A compression found by the RL ratio leads with it in the levels table, MSCC after it."""
    report, _ = html_case
    sideways = {"from": "T5", "to": "T5", "at": "T5", "shown_by": ["RL ratio"], "max_mscc_percent": 3.3, "rl_ratio_percent": 37.6, "area_ratio_percent": 34.8}
    page = Page(html_page(from_json({**report, "levels": {**report["levels"], "compression": {**report["levels"]["compression"], **sideways}}}, "report.json"), []))
    rows = [row[0] for row in page.tables["levels"][0]]
    assert rows.index("RL ratio at T5") < rows.index("MSCC at T5") < rows.index("Area ratio at T5")


MM = 72 / 25.4  # PDF points per millimetre
A4 = (210 * MM, 297 * MM)
PRINT_MARGINS_MM = {"top": 13, "right": 12, "bottom": 17, "left": 12}  # the page's @page rule


@pytest.fixture(scope="module")
def printed(html_case, browser, tmp_path_factory) -> tuple[dict, str, PdfReader]:
    report, text = html_case
    path = tmp_path_factory.mktemp("print") / "report.html"
    path.write_text(text, encoding="utf-8")
    return report, text, PdfReader(io.BytesIO(browser.print_to_pdf(path.as_uri())))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_printed_report_takes_a_few_a4_pages_each_with_the_caveat_and_its_number(printed):
    report, _, pdf = printed
    pages = len(pdf.pages)
    assert 4 <= pages <= 7, f"{pages} pages (7 since the Bilsky table per level, 5 before it)"
    for number, page in enumerate(pdf.pages, start=1):
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=1)
        text = flat(page.extract_text())
        assert flat(report["caveat"]) in text, f"page {number} lacks the caveat"
        assert f"Page {number} of {pages}" in text
        if number > 1:
            assert f"EMHAssist report — case {report['case']}" in text, f"page {number} does not name the case"


def drawn_images(page) -> list[tuple[str, list[float]]]:
    """Each image a page draws, with the transformation it is drawn with (width, height and origin in points)."""
    drawn = []

    def visit(operator, operands, matrix, _text_matrix):
        if operator == b"Do":
            drawn.append((str(operands[0]), list(matrix)))

    page.extract_text(visitor_operand_before=visit)
    return drawn


def test_every_key_image_is_printed_whole_on_one_page_at_its_size(printed):
    """An image cut by a page break is drawn on both pages, partly outside each page's content box."""
    _, text, pdf = printed
    drawn = [(number, name, matrix) for number, page in enumerate(pdf.pages, start=1) for name, matrix in drawn_images(page)]
    images = [attributes for tag, attributes in Page(text).tags if tag == "img"]
    assert len(drawn) == len(images), [(number, name) for number, name, _ in drawn]
    width, height = A4
    margins = {side: mm * MM for side, mm in PRINT_MARGINS_MM.items()}
    for index, (number, name, (a, _, _, d, x, y)) in enumerate(drawn):
        assert margins["left"] - 1 <= x and x + a <= width - margins["right"] + 1, (number, name)
        assert margins["bottom"] - 1 <= y and y + d <= height - margins["top"] + 1, (number, name, y, d)
        assert d / MM == pytest.approx(85, abs=1), "every key image is printed 85 mm high (the T1 and T1C views as large as the main ones)"


def test_no_printed_page_ends_with_a_heading_or_a_diagnosis_without_its_findings(printed):
    report, text, pdf = printed
    headings = [flat(unescape(re.sub("<[^>]+>", "", inner))) for inner in re.findall(r"<h[23]>(.*?)</h[23]>", text)]
    summaries = [flat(entry["summary"]) for entry in report["differential"][:3]]
    assert len(headings) >= len(SECTIONS) + 3
    for number, page in enumerate(pdf.pages, start=1):
        ending = flat(page.extract_text())
        for heading in headings + summaries:
            assert not ending.endswith(heading), f"page {number} ends with {heading!r}"


def test_the_print_style_keeps_every_heading_with_what_follows_it(browser, tmp_path):
    """Sixty headings with tables of two to six rows: without the style's rule, some heading ends a page."""
    sections = [
        f"<section><h2>Heading {k}</h2><table><tbody>" + "".join(f"<tr><td>row {k}.{r}</td></tr>" for r in range(k % 5 + 2)) + "</tbody></table></section>"
        for k in range(60)
    ]
    page = tmp_path / "headings.html"
    page.write_text(f"<!DOCTYPE html><html><head><style>{STYLE}</style></head><body>{''.join(sections)}</body></html>", encoding="utf-8")
    pdf = PdfReader(io.BytesIO(browser.print_to_pdf(page.as_uri())))
    assert len(pdf.pages) >= 5
    for number, printed_page in enumerate(pdf.pages, start=1):
        assert not re.search(r"Heading \d+$", flat(printed_page.extract_text())), f"page {number} ends with a heading"


def fill_colours(page) -> set[tuple[float, float, float]]:
    data = page.get_contents().get_data().decode("latin-1")
    return {tuple(float(v) for v in match) for match in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) rg", data)}


def test_the_print_keeps_its_background_colours_without_background_graphics(printed):
    """The caveat's tint and the probability bars' tracks are backgrounds, which browsers leave out
    of a print unless the page asks for its colours to be kept."""
    _, _, pdf = printed
    colours = set().union(*(fill_colours(page) for page in pdf.pages))
    for name, hex_colour in {"caveat": "fff4e5", "probability bar": "e6ebf0"}.items():
        wanted = tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4))
        assert any(np.allclose(colour, wanted, atol=0.003) for colour in colours), f"the {name}'s background is not printed"


def dicom_case(case: Path) -> dict[str, str]:
    """Every sequence of a case folder turned into a folder of one DICOM series of its own, with a
    patient; returns each role's series instance UID."""
    series = {}
    for index, role in enumerate(("T1", "T2", "T1C"), start=1):
        write_independent_dicom_series(sitk.ReadImage(str(case / f"{role}.nrrd")), case / role)
        (case / f"{role}.nrrd").unlink()
        series[role] = f"1.2.826.0.1.3680043.2.1125.1.42.{index}"
        for path in (case / role).iterdir():
            dataset = pydicom.dcmread(path)
            dataset.SeriesInstanceUID = series[role]
            dataset.PatientID = "EMH-TEST-1"
            dataset.PatientName = "Test^Synthetic"
            dataset.save_as(path)
    return series


@pytest.fixture(scope="module")
def sr_case(tmp_path_factory) -> tuple[Report, hd.sr.Comprehensive3DSR, Path, dict]:
    folder = tmp_path_factory.mktemp("sr")
    case = built_in_case(folder / DEFAULT_CASE)
    series = dicom_case(case)
    analyse(case, "--json", str(folder / "report.json"), "--sr", str(folder / "report.sr.dcm"))
    report = from_json(json.loads((folder / "report.json").read_text()), "report.json")
    return report, hd.sr.srread(folder / "report.sr.dcm"), case, series


def measurement_groups(sr: hd.sr.Comprehensive3DSR) -> dict[str, object]:
    content = hd.sr.MeasurementReport.from_sequence([sr])
    return {group.tracking_identifier: group for group in content.get_image_measurement_groups()}


def test_the_sr_is_a_tid_1500_measurement_report_highdicom_reads_back(sr_case):
    report, sr, _, _ = sr_case
    assert isinstance(sr, hd.sr.Comprehensive3DSR)
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert sr.PatientID == "EMH-TEST-1"
    graded = {f"bilsky {entry.level}" for entry in report.levels.bilsky.levels if entry.grade != "0"}  # test_surfaces checks them
    assert graded and set(measurement_groups(sr)) == {"cord", "mass", "marrow", "muscle", "disc", "differential"} | graded


def test_every_ratio_round_trips_with_its_interval_in_no_units(sr_case):
    report, sr, _, _ = sr_case
    groups = measurement_groups(sr)
    found = {}
    for region, group in groups.items():
        for measurement in group.get_measurements():
            found[(region, measurement.name.value)] = measurement
    expected = {(key.owner, key.text): ratio for key, ratio in report.ratios.items()}
    expected |= {(region, f"enhancement {region}"): ratio for region, ratio in report.enhancement.items()}
    for (region, key), ratio in expected.items():
        measurement = found[(region, key)]
        assert measurement.value == pytest.approx(ratio.value, rel=1e-12)
        assert (measurement.unit.scheme_designator, measurement.unit.value) == ("UCUM", "1")
        uncertainty = measurement_uncertainty(measurement)
        assert ratio.value + uncertainty["upper"] == pytest.approx(ratio.ci95[1], rel=1e-9)
        assert ratio.value - uncertainty["lower"] == pytest.approx(ratio.ci95[0], rel=1e-9)


def measurement_uncertainty(measurement) -> dict[str, float]:
    """The upper and lower measurement uncertainty items (SNOMED CT 371886008, 371885007) of a measurement."""
    names = {"371886008": "upper", "371885007": "lower"}
    return {
        names[item.ConceptNameCodeSequence[0].CodeValue]: float(item.MeasuredValueSequence[0].NumericValue)
        for item in measurement[0].ContentSequence
        if item.ConceptNameCodeSequence[0].CodeValue in names
    }


def test_regions_are_coded_tissues_and_the_levels_coded_vertebrae(sr_case):
    report, sr, _, _ = sr_case
    groups = measurement_groups(sr)
    assert (groups["cord"].finding_type.scheme_designator, groups["cord"].finding_type.value) == ("SCT", "2748008")
    assert (groups["mass"].finding_type.scheme_designator, groups["mass"].finding_type.value) == ("SCT", "4147007")
    assert groups["marrow"].finding_type.value == "14016003"
    levels = report.levels
    sites = [(site.value.scheme_designator, site.value.value) for site in groups["mass"].finding_sites]
    assert sites == [("SCT", getattr(codes.SCT, f"{name}Vertebra").value) for name in ("T5", "T6", "T7", "T8")]
    assert plain_value(levels.mass) == {"from": "T5", "to": "T8", "spans": [{"from": "T5", "to": "T8"}]}
    compressed = [(q.name.value, q.value.meaning) for q in groups["cord"].get_qualitative_evaluations()]
    assert compressed == [("71173004", f"{name} vertebra") for name in ("T5", "T6", "T7")]
    assert levels.compression.from_ == "T5" and levels.compression.to == "T7"
    assert [q.value.value for q in groups["cord"].get_qualitative_evaluations()] == [getattr(codes.SCT, f"{name}Vertebra").value for name in ("T5", "T6", "T7")]
    mscc = next(m for m in groups["cord"].get_measurements() if m.name.value == "mscc")
    assert mscc.value == pytest.approx(levels.compression.max_mscc_percent)
    assert mscc.unit.value == "%"


def test_the_private_coding_scheme_is_identified_and_the_content_qualified_as_research(sr_case):
    _, sr, _, _ = sr_case
    settings = load("structured_report")["private_scheme"]
    identified = {item.CodingSchemeDesignator: item for item in sr.CodingSchemeIdentificationSequence}
    private = identified[settings["designator"]]
    assert (private.CodingSchemeName, private.CodingSchemeResponsibleOrganization) == (settings["name"], settings["responsible_organization"])
    # DICOM's own schemes (PS3.16 Table 8-1) need no entry; every other scheme the document uses has one.
    assert content_schemes(sr.ContentSequence) - {"DCM", "SCT", "UCUM", "UMLS", "RFC5646"} <= set(identified)
    assert settings["designator"] in content_schemes(sr.ContentSequence)
    assert sr.ContentQualification == "RESEARCH"


def content_schemes(sequence) -> set[str]:
    """Every coding scheme designator in an SR content tree."""
    schemes = set()
    for item in sequence:
        for attribute in ("ConceptNameCodeSequence", "ConceptCodeSequence", "MeasurementUnitsCodeSequence"):
            schemes |= {code.CodingSchemeDesignator for code in item.get(attribute, [])}
        for measured in item.get("MeasuredValueSequence", []):
            schemes |= {code.CodingSchemeDesignator for code in measured.get("MeasurementUnitsCodeSequence", [])}
        schemes |= content_schemes(item.get("ContentSequence", []))
    return schemes


def test_the_caveat_is_a_comment_in_the_reports_qualitative_evaluations(sr_case):
    """Viewers show the content tree, not the series description: the caveat is a TEXT item there."""
    report, sr, _, _ = sr_case
    (container,) = [item for item in sr.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "C0034375"]
    assert (container.ValueType, container.ConceptNameCodeSequence[0].CodingSchemeDesignator) == ("CONTAINER", "UMLS")
    assert container.RelationshipType == "CONTAINS"
    (comment,) = container.ContentSequence
    assert (comment.ValueType, comment.RelationshipType) == ("TEXT", "CONTAINS")
    assert (comment.ConceptNameCodeSequence[0].CodingSchemeDesignator, comment.ConceptNameCodeSequence[0].CodeValue) == ("DCM", "121106")
    assert comment.TextValue == report.caveat


def test_the_mass_finding_sites_are_the_vertebrae_of_each_of_its_spans(sr_case):
    """A mass at T5–T9 and again at S1–S3 cites those eight vertebrae, none of the lumbar ones between."""
    report, _, case, series = sr_case
    names = [f"T{n}" for n in range(1, 13)] + [f"L{n}" for n in range(1, 6)] + ["S1", "S2", "S3"]
    vertebrae = [{"name": name, "code": code_of(name), "centre": [0.0, 0.0, -20.0 * index], "source": "user"} for index, name in enumerate(names)]
    mass = {"from": "T5", "to": "S3", "spans": [{"from": "T5", "to": "T9"}, {"from": "S1", "to": "S3"}]}
    levels = plain_value(report.levels) | {"vertebrae": vertebrae, "mass": mass}
    evidence = evidence_from_files({role: sorted(str(path) for path in (case / role).iterdir()) for role in series})
    sr = structured_report(from_json(plain_value(report) | {"levels": levels}, "spans"), evidence)
    sites = [site.value for site in measurement_groups(sr)["mass"].finding_sites]
    assert [site.meaning for site in sites] == ["T5 vertebra", "T6 vertebra", "T7 vertebra", "T8 vertebra", "T9 vertebra", "S1 vertebra", "S2 vertebra", "S3 vertebra"]
    assert [site.value for site in sites[:5]] == [getattr(codes.SCT, f"T{n}Vertebra").value for n in range(5, 10)]
    one_span = {"from": "T5", "to": "T7", "spans": [{"from": "T5", "to": "T7"}]}
    without_spans = structured_report(from_json(plain_value(report) | {"levels": levels | {"mass": one_span}}, "one span"), evidence)
    assert [site.value.meaning for site in measurement_groups(without_spans)["mass"].finding_sites] == ["T5 vertebra", "T6 vertebra", "T7 vertebra"]


def test_the_ranked_differential_round_trips_as_coded_findings_with_probabilities(sr_case):
    report, sr, _, _ = sr_case
    group = measurement_groups(sr)["differential"]
    diagnosis_codes = load("structured_report")["diagnoses"]
    ranked = [(q.value.scheme_designator, q.value.value) for q in group.get_qualitative_evaluations()]
    assert ranked == [tuple(diagnosis_codes[entry.id][:2]) for entry in report.differential]
    probabilities = {m.name.value: m.value for m in group.get_measurements()}
    assert probabilities == {f"probability {entry.id}": pytest.approx(entry.probability) for entry in report.differential}


def test_each_ratio_cites_the_instances_of_its_own_sequence(sr_case):
    report, sr, case, series = sr_case
    instances = {role: {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in (case / role).iterdir()} for role in series}
    groups = measurement_groups(sr)
    for region, group in groups.items():
        for measurement in group.get_measurements():
            key = measurement.name.value
            cited = {image.referenced_sop_instance_uid for image in measurement.referenced_images}
            if key.startswith("enhancement"):
                assert cited == instances["T1C"] | instances["T1"], key
            elif region.startswith("bilsky "):  # the canal compromise, read on the graded sequence
                assert cited == instances[report.levels.bilsky.sequence], (region, key)
            elif region != "differential" and key != "mscc":
                assert cited == instances[key.split(" ")[0]], key
    evidence = {item.SeriesInstanceUID for study in sr.CurrentRequestedProcedureEvidenceSequence for item in study.ReferencedSeriesSequence}
    assert evidence == set(series.values())


def test_sr_codes_that_are_not_emhassists_own_are_dicoms(sr_case):
    settings = load("structured_report")
    private = settings["private_scheme"]["designator"]
    known: dict[tuple[str, str], set[str]] = {}
    for scheme in ("SCT", "DCM", "UCUM"):
        for code in _all_codes(scheme):
            known.setdefault((code.scheme_designator, code.value), set()).add(code.meaning.lower())
    entries = list(settings["diagnoses"].values()) + list(settings["concepts"].values()) + list(settings["units"].values())
    entries += [coding[key] for coding in settings["regions"].values() for key in coding]
    for scheme, value, meaning in entries:
        if scheme != private:
            assert (scheme, value) in known, (scheme, value, meaning)
            assert any(name.startswith(meaning.lower()) for name in known[(scheme, value)]), (value, meaning, known[(scheme, value)])


def _all_codes(scheme: str):
    collection = getattr(codes, scheme)
    for name in dir(collection):
        if name[0].isupper():
            yield getattr(collection, name)


def test_a_dicom_sequences_file_is_its_folder_as_the_case_was_named(sr_case, monkeypatch):
    """As a file's path is reported as the case folder was given (relative or not), so is a DICOM folder's."""
    report, _, case, series = sr_case
    assert {role: report.sequences[role].file for role in series} == {role: str(case / role) for role in series}
    monkeypatch.chdir(case.parent)
    relative = Path(case.name)
    files = {role: info.file for role, info in analyze(load_case_folder(relative, new_headless_scene())).sequences.items()}
    assert files == {role: str(relative / role) for role in series}


def test_evidence_read_from_the_dicom_files_as_slicer_lists_them_makes_the_same_sr(sr_case, tmp_path):
    """The Slicer panel reads each sequence's files (from Slicer's DICOM database) instead of the
    headers the case-folder reader kept: the same instances are cited and the SR reads back."""
    report, written, case, series = sr_case
    files = {role: sorted(str(path) for path in (case / role).iterdir()) for role in series}
    evidence = evidence_from_files(files)
    kept = dicom_evidence(load_case_folder(case, new_headless_scene()))
    assert {role: sorted(d.SOPInstanceUID for d in headers) for role, headers in evidence.items()} == {
        role: sorted(d.SOPInstanceUID for d in headers) for role, headers in kept.items()
    }
    write_structured_report(report, evidence, tmp_path / "panel.sr.dcm")
    again = hd.sr.srread(tmp_path / "panel.sr.dcm")
    assert again.ContentTemplateSequence[0].TemplateIdentifier == written.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert len(measurement_groups(again)) == len(measurement_groups(written))


def test_evidence_from_files_names_the_sequence_not_loaded_from_dicom_or_unreadable(tmp_path):
    with pytest.raises(InputError, match="^T2: .*not loaded from DICOM"):
        evidence_from_files({"T2": []})
    (tmp_path / "slice.dcm").write_bytes(b"not dicom")
    with pytest.raises(InputError, match="^T1: a DICOM file of the sequence could not be read"):
        evidence_from_files({"T1": [str(tmp_path / "slice.dcm")]})


def test_sr_of_a_case_that_is_not_dicom_exits_2_naming_the_file(tmp_path, scene, capsys):
    case = write_small_case(tmp_path / "case", scene)
    code = main(["analyze", str(case), "--sr", str(tmp_path / "out.dcm")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"error: {case / 'T1.nrrd'}: --sr needs DICOM inputs")
    assert not (tmp_path / "out.dcm").exists()


@pytest.fixture
def batch(tmp_path, scene) -> Path:
    folder = tmp_path / "batch"
    for name in ("a_first", "b_second"):
        write_small_case(folder / name, scene)
    shutil.copytree(folder / "a_first", folder / "c_broken")
    corrupt(folder / "c_broken" / "T2.nrrd")
    return folder


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_batch_writes_a_row_per_case_goes_on_past_a_bad_one_and_exits_1(batch, tmp_path, capsys):
    out = tmp_path / "batch.csv"
    assert main(["analyze", str(batch), "--csv", str(out)]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "a_first: ok" and printed[1] == "b_second: ok"
    assert printed[2] == f"c_broken: error: {batch / 'c_broken' / 'T2.nrrd'}: is not a readable image file (corrupt or unknown format)"
    rows = read_rows(out)
    assert [row["case"] for row in rows] == ["a_first", "b_second", "c_broken"]
    assert rows[2]["error"].endswith("T2.nrrd: is not a readable image file (corrupt or unknown format)")
    assert rows[2]["T2 mass/cord"] == "" and rows[0]["error"] == ""
    assert main(["analyze", str(batch / "a_first"), "--json", str(tmp_path / "a.json")]) == 0
    report = json.loads((tmp_path / "a.json").read_text())
    row = rows[0]
    assert row["sequences"] == " ".join(report["sequences"])
    for key, ratio in report["ratios"].items():
        assert float(row[key]) == ratio["value"]
        assert [float(row[f"{key} ci95 low"]), float(row[f"{key} ci95 high"])] == ratio["ci95"]
    for region, ratio in report["enhancement"].items():
        assert float(row[f"enhancement {region}"]) == ratio["value"]
    for place, entry in enumerate(report["differential"][:3], start=1):
        assert row[f"diagnosis_{place}"] == entry["name"]
        assert float(row[f"probability_{place}"]) == entry["probability"]
    assert row["warnings"] == " | ".join(report["warnings"])


def test_batch_with_levels_fills_the_level_columns_and_exits_0(tmp_path, capsys):
    folder = tmp_path / "batch"
    built_in_case(folder / DEFAULT_CASE)
    out = tmp_path / "batch.csv"
    assert main(["analyze", str(folder), "--csv", str(out)]) == 0
    (row,) = read_rows(out)
    assert (row["mass_from"], row["mass_to"], row["compression_from"], row["compression_to"]) == ("T5", "T8", "T5", "T7")
    assert row["levels"].startswith("mass T5–T8, cord compressed T5–T7")
    compression = analyze(load_case_folder(folder / DEFAULT_CASE, new_headless_scene())).levels.compression
    for field in ("max_mscc_percent", "area_ratio_percent", "rl_ratio_percent"):
        assert float(row[field]) == pytest.approx(getattr(compression, field)), field
    assert (row["max_mscc_at"], row["compression_shown_by"]) == (compression.at, "MSCC")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--csv", "OUT", "--html", "x.html"], "--csv: analyses a folder of case folders"),
        (["--csv", "OUT"], "holds no case folder"),
    ],
)
def test_batch_refusals_exit_2_with_one_line(tmp_path, capsys, argv, message):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [str(tmp_path / "out.csv") if a == "OUT" else a for a in argv]
    assert main(["analyze", str(empty), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_html_of_a_case_without_level_points_still_shows_its_tissue_in_every_view(tmp_path, scene, capsys):
    case = write_small_case(tmp_path / "case", scene)
    assert main(["analyze", str(case), "--html", str(tmp_path / "small.html")]) == 0
    page = Page((tmp_path / "small.html").read_text(encoding="utf-8"))
    assert "Vertebrae identifiednone" in page.section_text["levels"]
    sources = [attributes["src"] for tag, attributes in page.tags if tag == "img"]
    assert len(sources) == 4  # T2 sagittal and axial, T1 and T1C sagittal
    for source in sources:
        pixels = decode_png(base64.b64decode(source.removeprefix("data:image/png;base64,")), tmp_path)[..., :3].astype(float)
        # The views pass through the mass block, much brighter than the background on every sequence.
        assert (pixels.max(axis=-1) > 100).sum() > 500, "the views miss the tissue blocks"


def test_the_text_summary_shows_the_top_three_their_reasons_and_why_the_prior_decides():
    """The text summary's differential is drawn from the typed report (it re-read the report's
    differential as plain dicts through the differential's own wording)."""
    lines = differential_lines(golden_report("mds_t5_t8"))
    numbered = [line for line in lines if line[:2] in ("1.", "2.", "3.", "4.")]
    assert [line[:2] for line in numbered] == ["1.", "2.", "3."]
    assert numbered[0].startswith("1. Extramedullary hematopoiesis: ")
    assert any(line.strip().startswith("for: Mass markedly hypointense to cord on T2 (ratio 0.30") for line in lines)
    assert any("myelodysplastic syndrome ×15" in line for line in lines)
    assert not any(line.startswith("The images") for line in lines)  # the images separate the leaders
    thal = golden_report("thal_major_teaching")
    deciding = thal.priors_decide
    assert differential_lines(thal)[-1] == deciding.why and deciding.why.startswith("The images")
    assert deciding.text == f"{deciding.why} To separate them: {thal.next_best.text}"
    # A report written before `why` was kept apart shows its whole line.
    assert differential_lines(replace(thal, priors_decide=replace(deciding, why=None)))[-1] == deciding.text


@pytest.mark.parametrize("width", [1400, 600])
def test_the_html_says_why_the_prior_puts_the_leader_first_wrapped_and_whole(browser, tmp_path, width):
    """lymphoma_t8_t10: the images favour two candidates over lymphoma, the history outweighs them. The text
    summary said so; the HTML page did not. Shown in the differential, at a desktop width and a narrow one,
    the line wraps within the page's column and nothing of it is cut off."""
    report = golden_report("lymphoma_t8_t10")
    path = tmp_path / "report.html"
    path.write_text(html_page(report, []), encoding="utf-8")
    browser.command("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
    try:
        browser.navigate(path.as_uri())
        browser.wait_for(f"location.href === {json.dumps(path.as_uri())} && document.readyState === 'complete'", 20, "the report loaded")
        shown = browser.evaluate(
            """(() => { const p = document.querySelector('#differential .priors-decide'); if (!p) return null;
            const r = p.getBoundingClientRect(), column = p.parentElement.getBoundingClientRect(), line = parseFloat(getComputedStyle(p).lineHeight);
            return {text: p.innerText, left: r.left, right: r.right, columnLeft: column.left, columnRight: column.right,
                    height: r.height, line: line, scroll: p.scrollWidth, client: p.clientWidth, view: innerWidth}; })()"""
        )
    finally:
        browser.command("Emulation.setDeviceMetricsOverride", width=1400, height=900, deviceScaleFactor=1, mobile=False)
    assert shown is not None, "no 'what puts the leader first' line in the differential"
    assert " ".join(shown["text"].split()).endswith(" ".join(report.priors_decide.why.split()))
    assert shown["columnLeft"] <= shown["left"] and shown["right"] <= shown["columnRight"], shown
    assert shown["scroll"] <= shown["client"] and shown["columnRight"] <= shown["view"], f"cut off or wider than the window: {shown}"
    assert shown["height"] >= 1.9 * shown["line"], f"not wrapped: {shown}"
