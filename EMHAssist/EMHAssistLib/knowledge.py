"""Loads the package's data files (vocabularies, ratio pairs, thresholds, diagnoses)."""

import functools
import json
from pathlib import Path
from typing import Any, NoReturn

DATA_DIR = Path(__file__).resolve().parent / "data"


class DataFileError(Exception):
    """A data file of the package that is not strict JSON: one line naming the file and the fault.

    Not an `errors.InputError`, which reads data/limits.json to cut its lines: a broken limits.json
    could not then be reported. The command line prints either as its one error line."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"EMHAssistLib/data/{name}.json: {problem}")


@functools.cache
def load(name: str) -> Any:
    """Parsed contents of `data/<name>.json`; cached, so callers must not mutate it. Read as strictly
    as a case's JSON: a key given twice (Python's reader keeps the last without a word) and NaN or
    Infinity (not JSON) are refused, as is text that is not JSON, naming the file."""
    try:
        with open(DATA_DIR / f"{name}.json", encoding="utf-8") as stream:
            return json.load(stream, object_pairs_hook=functools.partial(_unique_keys, name), parse_constant=functools.partial(_not_json, name))
    except json.JSONDecodeError as error:
        raise DataFileError(name, f"is not valid JSON ({error})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError(name, f"cannot be read ({type(error).__name__}: {error})") from None


def _unique_keys(name: str, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) < len(pairs):
        twice = next(key for n, (key, _) in enumerate(pairs) if key in dict(pairs[:n]))
        raise DataFileError(name, f"the key {twice!r} is given twice in one object; which one holds is unknown")
    return found


def _not_json(name: str, constant: str) -> NoReturn:
    raise DataFileError(name, f"{constant} is not a JSON number; write a number")
