"""Rewrite Testing/goldens/: every output of every built-in case as the engine writes it now.

Run it only when a result changes on purpose; the commit then shows the change as the goldens' diff,
and Testing/test_goldens.py compares against them byte for byte. Research and teaching use only.

    PYTHONPATH=$PWD/EMHAssist .venv/bin/python tools/update_goldens.py [CASE ...]
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))

from golden_outputs import GOLDENS, case_names, outputs_of  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="built-in cases to rewrite (default: all)")
    cases = parser.parse_args(argv).cases or case_names()
    for case in cases:
        with tempfile.TemporaryDirectory() as folder:
            outputs = outputs_of(case, Path(folder))
        (GOLDENS / case).mkdir(parents=True, exist_ok=True)
        for name, content in outputs.items():
            (GOLDENS / case / name).write_bytes(content)
        print(f"{case}: {', '.join(outputs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
