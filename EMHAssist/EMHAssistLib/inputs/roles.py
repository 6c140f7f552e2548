"""Sequence roles recognised from names: file stems, volume node names, DICOM series descriptions.

A name that is a role itself ("t2", "T1C") is that role, as case folders name their volumes.
Longer names ("Sag T1 FS post Gd", "t2_tse_sag") are read word by word for the markers of
`data/sequence_names.json`. A name no rule recognises is left without a role: a wrong guess
would put a volume in a ratio it does not belong to.
"""

import re
from collections.abc import Iterable, Mapping
from typing import TypeVar

from ..settings import sequence_names
from .study import sequence_roles

Key = TypeVar("Key")


def role_of_name(name: str) -> str | None:
    """The role a name is, ignoring case ("t1c" -> "T1C"), or None."""
    return {role.lower(): role for role in sequence_roles()}.get(name.strip().lower())


def recognise_role(name: str) -> str | None:
    """The role a volume name or series description names, or None when no rule recognises it."""
    exact = role_of_name(name)
    if exact is not None:
        return exact
    found = _markers_in(name)
    for rule in sequence_names().roles:
        if set(rule.markers) <= found and not set(rule.without) & found:
            return rule.role
    return None


def suggest_roles(names: Mapping[Key, Iterable[str]], taken: Iterable[str] = ()) -> dict[str, Key]:
    """Role -> volume for the volumes whose names recognisably name one role.

    `names` gives each volume's names (node name, series description, ...); the first a rule
    recognises counts. A role two volumes claim, or one already `taken`, is suggested for none.
    """
    claims: dict[str, list[Key]] = {}
    for key, candidates in names.items():
        role = next((r for r in map(recognise_role, candidates) if r is not None), None)
        if role is not None:
            claims.setdefault(role, []).append(key)
    taken = set(taken)
    return {role: keys[0] for role, keys in claims.items() if len(keys) == 1 and role not in taken}


def _markers_in(name: str) -> set[str]:
    words = re.findall(r"[a-z0-9+]+", name.lower())
    text = f" {' '.join(words)} "
    return {
        marker
        for marker, spellings in sequence_names().markers.items()
        if any((f" {spelling} " in text) if " " in spelling else spelling in words for spelling in spellings)
    }
