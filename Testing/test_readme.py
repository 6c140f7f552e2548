"""The README a newcomer reads: short, its links alive, and what it shows is what the code does."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from EMHAssistLib.frontends.cli import main
from EMHAssistLib.inputs.casefolder import read_roi
from EMHAssistLib.inputs.nodes import box_of_roi

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAX_LINES = 200  # issue 18: a README a newcomer finishes


def fenced_block(after: str, language: str) -> str:
    start = README.index(after)
    opening = README.index(f"```{language}\n", start) + len(f"```{language}\n")
    return README[opening : README.index("```", opening)]


def test_the_readme_is_short_enough_to_finish():
    assert len(README.splitlines()) <= MAX_LINES


def test_every_local_link_of_the_readme_exists():
    targets = re.findall(r"\]\(((?!https?:)[^)#]+)", README)
    assert targets
    assert [target for target in targets if not (ROOT / target).exists()] == []


def test_every_local_link_and_picture_of_the_docs_pages_exists():
    """A newcomer goes on from the README to docs/: each page's links and pictures resolve from the page's own
    folder, as a browser and GitHub read them (docs/teaching.md, reports.md and testing.md named their pictures and pages
    "docs/...", which is docs/docs/ from there: 10 pictures that did not show and 2 dead links)."""
    missing = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        targets = re.findall(r"\]\(((?!https?:|mailto:)[^)#\s]+)", page.read_text(encoding="utf-8"))
        missing += [f"{page.relative_to(ROOT)}: {target}" for target in targets if not (page.parent / target).exists()]
    assert missing == []


def test_the_roi_example_is_read_as_the_box_it_describes(tmp_path, scene):
    """LPS in the file, RAS in the scene: the example's centre (-1.5, 32, 120) is RAS (1.5, -32, 120)."""
    example = fenced_block("Writing an ROI without Slicer", "json")
    path = tmp_path / "mass.mrk.json"
    path.write_text(example, encoding="utf-8")
    stated = json.loads(example)["markups"][0]
    box = box_of_roi(read_roi(path, scene))
    assert np.allclose(box.center, np.array(stated["center"]) * [-1, -1, 1])
    assert np.allclose(sorted(2 * box.half_size), sorted(stated["size"]))


@pytest.mark.slow
def test_the_demo_block_is_what_make_demo_prints(tmp_path, capsys, monkeypatch):
    """Each line of the README's block appears in the demo's output, in order ("..." skips lines)."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", "out"]) == 0
    printed = capsys.readouterr().out.splitlines()
    position = 0
    for line in fenced_block("<!-- demo-output", "text").splitlines():
        if line == "...":
            continue
        assert line in printed[position:], f"not printed (in this order) by emhassist demo: {line}"
        position = printed.index(line, position) + 1
