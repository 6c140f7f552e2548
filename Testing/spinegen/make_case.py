"""Write one generated case folder: `python -m spinegen.make_case --seed 3 --out DIR [--set key=value ...]`
(with PYTHONPATH=Testing:EMHAssist). Any design factor can be fixed with --set, e.g.
`--set side=posterior --set curvature=straight --set severity=0.5 --set healthy=false`.
"""

import argparse
import json
import sys
from pathlib import Path

from .case import generate, write_case
from .design import sample_design


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--set", action="append", default=[], metavar="FACTOR=VALUE")
    args = parser.parse_args(argv)
    fixed = {}
    for item in args.set:
        key, _, value = item.partition("=")
        fixed[key] = _value(value)
    try:
        sample_design(args.seed, **fixed)
    except (TypeError, ValueError) as problem:
        print(f"error: --set: {problem}", file=sys.stderr)
        return 2
    case = generate(args.seed, **fixed)
    folder = write_case(case, args.out)
    print(f"{folder}: {case.design.orientation} {case.grid.shape[::-1]} voxels of {case.grid.spacing.round(2).tolist()} mm; "
          f"mass {case.truth['mass'] and case.truth['mass'].get('from')}-{case.truth['mass'] and case.truth['mass'].get('to')}; "
          f"compression {case.truth['compression'] and (case.truth['compression'].get('from'), case.truth['compression'].get('to'), case.truth['compression'].get('mscc_percent'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
