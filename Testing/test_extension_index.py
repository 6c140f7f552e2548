"""The ExtensionsIndex entry (docs/EMHAssist.json) against the catalog-entry schema it names.

The schema is Slicer's Schemas/slicer-extension-catalog-entry-schema-v1.0.2.json (Slicer/Slicer,
read at commit 5767566820c4378c7c28c967d60d114892fb443d). Nothing is downloaded here and the schema
is not copied: the test states what it requires, as facts - the three required fields, no property
outside its list, each property's JSON type, scm_type's two values and tier's range.
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = ROOT / "docs" / "EMHAssist.json"
# ExtensionsIndex keeps a branch per Slicer release (5.10, 5.12, ...) beside main; each holds the entry
# that release builds. One source supports every release in the host folder, so each branch's entry
# is the main one (docs/slicer.md says when to pin a release branch instead).
RELEASE_ENTRIES = ROOT / "docs" / "extensions-index"
HOST = ROOT.parent / "shared" / "slicer-host"
SCHEMA_ID = "https://raw.githubusercontent.com/Slicer/Slicer/main/Schemas/slicer-extension-catalog-entry-schema-v1.0.2.json#"
REQUIRED = ("$schema", "category", "scm_url")
PROPERTY_TYPES = {
    "$schema": str,
    "category": str,
    "scm_url": str,
    "scm_revision": str,
    "scm_type": str,
    "build_dependencies": list,
    "dicom_support_rule": str,
    "build_subdirectory": str,
    "enabled": bool,
    "tier": int,
}


def entry() -> dict:
    return json.loads(ENTRY.read_text(encoding="utf-8"))


def schema_problems(candidate: dict) -> list[str]:
    problems = [f"missing required {name}" for name in REQUIRED if name not in candidate]
    problems += [f"{name} is not in the schema" for name in candidate if name not in PROPERTY_TYPES]
    for name, value in candidate.items():
        wanted = PROPERTY_TYPES.get(name)
        if wanted is not None and (type(value) is not wanted):
            problems.append(f"{name} must be {wanted.__name__}")
    if candidate.get("scm_type", "git") not in ("git", "local"):
        problems.append("scm_type must be git or local")
    if isinstance(candidate.get("tier"), int) and not 1 <= candidate["tier"] <= 5:
        problems.append("tier must be 1 to 5")
    if not all(isinstance(item, str) for item in candidate.get("build_dependencies", [])):
        problems.append("build_dependencies must be strings")
    return problems


def test_entry_satisfies_the_catalog_entry_schema():
    assert entry()["$schema"] == SCHEMA_ID
    assert schema_problems(entry()) == []


def test_the_schema_check_refuses_what_the_schema_refuses():
    valid = entry()
    assert schema_problems({key: value for key, value in valid.items() if key != "scm_url"}) == ["missing required scm_url"]
    assert schema_problems(valid | {"homepage": "x"}) == ["homepage is not in the schema"]
    assert schema_problems(valid | {"tier": "1"}) == ["tier must be int"]
    assert schema_problems(valid | {"tier": 6}) == ["tier must be 1 to 5"]
    assert schema_problems(valid | {"enabled": 1}) == ["enabled must be bool"]
    assert schema_problems(valid | {"scm_type": "svn"}) == ["scm_type must be git or local"]


def test_entry_agrees_with_the_extension_and_the_module():
    cmake = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    homepage = re.search(r'set\(EXTENSION_HOMEPAGE "([^"#]+)', cmake).group(1)
    assert entry()["scm_url"] == f"{homepage}.git"
    module = (ROOT / "EMHAssist" / "EMHAssistSlicer" / "module.py").read_text(encoding="utf-8")
    assert f'translate("qSlicerAbstractCoreModule", "{entry()["category"]}")' in module
    depends = re.search(r'set\(EXTENSION_DEPENDS "([^"]*)"\)', cmake).group(1)
    assert entry()["build_dependencies"] == ([] if depends == "NA" else depends.split(";"))
    project = re.search(r"^project\((\w+)\)", cmake, re.M).group(1)
    assert ENTRY.name == f"{project}.json"


def supported_branches() -> list[str]:
    """The ExtensionsIndex branch of every release in the host folder: v5.10.0 -> 5.10."""
    return sorted(".".join(path.name[1:].split(".")[:2]) for path in HOST.iterdir() if path.is_dir() and path.name.startswith("v"))


def test_every_supported_release_has_its_extensions_index_entry():
    assert supported_branches() == ["5.10", "5.12"]
    branches = sorted(path.name for path in RELEASE_ENTRIES.iterdir() if path.is_dir())
    assert branches == supported_branches()
    for branch in branches:
        release_entry = json.loads((RELEASE_ENTRIES / branch / ENTRY.name).read_text(encoding="utf-8"))
        assert schema_problems(release_entry) == []
        assert release_entry == entry()


def test_the_extension_says_which_releases_it_supports():
    releases = " and ".join(supported_branches())
    cmake = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    assert f"Runs in 3D Slicer {releases}." in re.search(r'set\(EXTENSION_DESCRIPTION "([^"]+)"\)', cmake).group(1)
    assert f'SUPPORTED_RELEASES = "{releases}"' in (ROOT / "EMHAssist" / "EMHAssist.py").read_text(encoding="utf-8")
    assert f"Slicer {releases}" in (ROOT / "docs" / "slicer.md").read_text(encoding="utf-8")
