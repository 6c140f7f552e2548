"""Loads the package's data files (vocabularies, ratio pairs, thresholds, diagnoses)."""

import functools
import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


@functools.cache
def load(name: str) -> Any:
    """Parsed contents of `data/<name>.json`; cached, so callers must not mutate it."""
    with open(DATA_DIR / f"{name}.json", encoding="utf-8") as stream:
        return json.load(stream)
