"""References a reader can look up (issue 17 point 5, issue 18 point 3): every key the knowledge cites
resolves to typed citation fields that the loader checks, every surface that shows references shows
the full citation formatted by outputs/citations.py, and the report's JSON keeps the key.
"""

import json
import re
from dataclasses import replace

import pytest
from golden_outputs import golden_report

from EMHAssistLib.differential import Knowledge, knowledge
from EMHAssistLib.differential.rules import CITATION_FIELDS, DATA_FILES, Reference
from EMHAssistLib.errors import InputError
from EMHAssistLib.knowledge import DATA_DIR
from EMHAssistLib.outputs.citations import cited_keys, full_citation, listed_citation
from EMHAssistLib.report_model import RankedDiagnosis


def raw_files() -> dict:
    return {name: json.loads((DATA_DIR / "differential" / f"{name}.json").read_text(encoding="utf-8")) for name in DATA_FILES}


def test_every_cited_key_resolves_to_a_reference_with_every_citation_field():
    references = knowledge().references
    assert set(knowledge().citations()) <= set(references)
    for key, reference in references.items():
        assert isinstance(reference, Reference), key
        assert reference.verified_from, key
        missing = [field for field in CITATION_FIELDS if getattr(reference, field) is None]
        assert not missing or reference.note.strip(), (key, missing)
        assert reference.title or reference.described_as, key


def test_a_published_reference_reads_as_a_full_citation():
    reference = knowledge().references["cambron2013_synovial_cyst"]
    assert full_citation(reference) == (
        "Cambron SC, McIntyre JJ, Guerin SJ, Li Z, Pastel DA. Lumbar facet joint synovial cysts: does T2 signal"
        " intensity predict outcomes after percutaneous rupture? AJNR Am J Neuroradiol 2013;34(8):1661-1664."
        " doi:10.3174/ajnr.A3441. PMID 23449657."
    )


def test_what_no_page_showed_is_named_and_a_seed_says_what_and_where_it_is():
    references = knowledge().references
    assert full_citation(references["neuroradiology1995_lymphoma"]).endswith("PMID 7666966. (Not verified: authors.)")
    assert full_citation(references["hu2013_angiolipoma"]).startswith("Hu, Hu, Hu, Wang, Dai, Fang, Cui. MRI features")  # surnames as seen
    assert "Not verified" not in full_citation(references["eurorad3990_synovial_cyst"])  # a web case has no volume
    seed = full_citation(references["seed000"])
    assert seed.startswith("case report of thoracic cord compression") and "shared/seeds/000_b99b0c2a3292f94d.txt" in seed


def test_cited_keys_keep_the_order_of_first_citation():
    ranking = ranking_citing([("b", "a"), ()], [("a", "c")], [])
    assert cited_keys(ranking) == ["b", "a", "c"]


def ranking_citing(*diagnoses: list[tuple[str, ...]]) -> tuple[RankedDiagnosis, ...]:
    """A ranking of the stored report's leading diagnosis, once per entry, each evidence item citing the given keys."""
    entry = golden_report().differential[0]
    return tuple(replace(entry, evidence=tuple(replace(entry.evidence[0], refs=refs) for refs in cited)) for cited in diagnoses)


def _drop_pmid(files):
    del files["references"]["references"]["carroll1997"]["pmid"]


def _null_without_note(files):
    assert "note" not in files["references"]["references"]["cambron2013_synovial_cyst"]
    files["references"]["references"]["cambron2013_synovial_cyst"]["pages"] = None


def _malformed_doi(files):
    files["references"]["references"]["bai2022_mescc"]["doi"] = "doi:10.3389/fradi.2022.962797"


def _nothing_verified(files):
    files["references"]["references"]["li2022_disc_sequestration"]["verified_from"] = []


def _unknown_field(files):
    files["references"]["references"]["carroll1997"]["jounral"] = "J Magn Reson Imaging"


def _issue_not_text(files):
    files["references"]["references"]["cambron2013_synovial_cyst"]["issue"] = 8


@pytest.mark.parametrize(
    ("corrupt", "problem"),
    [
        (_drop_pmid, "reference 'carroll1997': needs 'pmid' (null when no page showed it)"),
        (_null_without_note, "reference 'cambron2013_synovial_cyst': pages unknown: a 'note' must say why"),
        (_malformed_doi, "reference 'bai2022_mescc': 'doi' is not valid"),
        (_nothing_verified, "reference 'li2022_disc_sequestration': needs 'verified_from'"),
        (_unknown_field, "reference 'carroll1997': 'jounral' is not a field of a reference (known: "),
        (_issue_not_text, "reference 'cambron2013_synovial_cyst': 'issue' must be a non-empty text"),
    ],
)
def test_a_reference_without_its_fields_is_refused_on_load(corrupt, problem):
    files = raw_files()
    corrupt(files)
    with pytest.raises(InputError) as caught:
        Knowledge.from_raw(files)
    assert caught.value.subject == "EMHAssistLib/data/differential/references.json"
    assert caught.value.problem.startswith(problem), caught.value.problem


def test_the_browser_viewer_lists_each_cited_key_with_its_full_citation():
    from EMHAssistLib.frontends.serve import _cited_references

    report = replace(golden_report(), differential=ranking_citing([("seed004", "carroll1997")], [("seed004", "seed000")]))
    assert _cited_references(report) == [
        {"key": "seed004", "label": "Shah 2011", "rest": ": " + full_citation(knowledge().references["seed004"])},
        {"key": "carroll1997", "label": "Carroll 1997", "rest": ": " + full_citation(knowledge().references["carroll1997"])},
        {"key": "seed000", "label": "case report of thoracic cord compression", "rest": full_citation(knowledge().references["seed000"]).removeprefix("case report of thoracic cord compression")},
    ]
    assert _cited_references(report)[0]["rest"].startswith(": Shah LM, Salzman KL. Imaging of spinal metastatic disease.")


def test_a_source_whose_article_is_not_identified_is_listed_with_its_head_once():
    label, rest = listed_citation("seed000")  # its label is the head of its own citation (issue 18's leftover: written twice)
    assert label + rest == full_citation(knowledge().references["seed000"])
    assert rest.startswith(" by posterior epidural extramedullary hematopoiesis (T5-T8)")
    assert listed_citation("carroll1997") == ("Carroll 1997", ": " + full_citation(knowledge().references["carroll1997"]))
    assert listed_citation("no_such_key") == ("no_such_key", ": (not in references.json)")


def test_the_references_page_lists_every_key():
    page = (DATA_DIR.parents[2] / "docs" / "references.md").read_text(encoding="utf-8")
    assert [key for key in knowledge().references if f"| `{key}` |" not in page] == []


def test_every_seed_a_data_file_names_in_its_sources_is_a_reference():
    """Sources outside the differential (tissue signals, teaching cases) name seeds in free text ("seed 004");
    each must be a key of references.json, so that docs/references.md tells the reader where to find it.
    A spine of the randomized generator (Testing/spinegen) is a "generated seed 106": not a source."""
    named = {f"seed{number}" for path in DATA_DIR.rglob("*.json") for number in re.findall(r"\b(?<!generated )seed (\d{3})\b", path.read_text(encoding="utf-8"), re.IGNORECASE)}
    assert named and named <= set(knowledge().references), named - set(knowledge().references)
