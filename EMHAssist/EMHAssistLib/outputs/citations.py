"""A reference of data/differential/references.json as a reader looks it up: one formatting for every
surface that shows references (the HTML report, the browser viewer, the panel's tooltips), while the
report's JSON keeps the key.
"""

import re
from collections.abc import Iterable

from ..differential.rules import Reference, knowledge
from ..report_model import RankedDiagnosis

# The fields a full citation names; doi and pmid are left out of "not verified" because many sources
# have neither.
LOOKED_UP = ("authors", "journal", "year", "volume", "pages")
YEAR = re.compile(r"\b(1[89]|20)\d\d\b")
TITLE_END = re.compile(r" \(|[;,.:]| by | with | in a ")  # a title's head: what the source is, not its details


def citation_label(key: str) -> str:
    """A reference as a reader cites it beside a finding: "Carroll 1997" when its short name gives an
    author and year, else the head of its title, or of what the source is when its article is not
    identified (a seed); the key itself only when references.json does not know it."""
    reference = knowledge().references.get(key)
    if reference is None:
        return key
    if YEAR.search(reference.short):
        return reference.short
    title = reference.title or reference.described_as or ""
    return TITLE_END.split(title, maxsplit=1)[0].strip() or reference.short


def listed_citation(key: str) -> tuple[str, str]:
    """A reference as a list of references shows it: its label, then what follows the label. That is ": "
    and the full citation, or, for a source whose article is not identified (its citation opens with the
    label), the rest of that citation, so the list does not write its head twice."""
    label = citation_label(key)
    reference = knowledge().references.get(key)
    citation = full_citation(reference) if reference is not None else "(not in references.json)"
    return (label, citation[len(label):]) if citation.startswith(label) else (label, f": {citation}")


def full_citation(reference: Reference) -> str:
    """Vancouver style: "Authors. Title. Journal Year;Volume(Issue):Pages. doi:… PMID …", from the typed
    fields; what no page showed is named as not verified, and a source whose article is not identified
    (a seed text) reads as what it is and where it lies."""
    if not reference.title:
        return f"{reference.described_as} (source text {reference.verified_from[0]}; published article not identified)"
    parts = []
    if reference.authors:
        parts.append(", ".join(reference.authors) + (", et al." if reference.et_al else "."))
    title = reference.title
    parts.append(title if title[-1] in ".?!" else title + ".")
    published = _published(reference)
    if published:
        parts.append(published + ".")
    if reference.doi:
        parts.append(f"doi:{reference.doi}.")
    if reference.pmid:
        parts.append(f"PMID {reference.pmid}.")
    unverified = [f for f in LOOKED_UP if getattr(reference, f) is None and f not in reference.not_applicable]
    if unverified:
        parts.append(f"(Not verified: {', '.join(unverified)}.)")
    return " ".join(parts)


def _published(reference: Reference) -> str:
    """ "J Magn Reson Imaging 1997;7(2):394-398": journal and year, then volume (issue) and pages."""
    where = " ".join(str(value) for value in (reference.journal, reference.year) if value is not None)
    issue = f"({reference.issue})" if reference.issue else ""
    volume = (reference.volume or "") + issue
    if volume:
        where += f";{volume}"
    if reference.pages:
        where += f":{reference.pages}"
    return where


def cited_keys(ranking: Iterable[RankedDiagnosis]) -> list[str]:
    """Every reference key the ranking's evidence cites, in order of first citation."""
    return list(dict.fromkeys(ref for entry in ranking for item in entry.evidence for ref in item.refs))
