"""Measure the differential on the published-case set (Testing/literature, docs/literature-cases.md).

Prints, for the tuning and the validation half, top-1, top-3 and top-1 by diagnosis, Brier score,
log loss, the mean probability of a wrong first answer, the cases whose true diagnosis got under 5 %
although its hallmark was stated, and top-1 from clinical context alone, imaging alone and both;
then every case. Draws the reliability diagram. Research and teaching use only.

    PYTHONPATH=$PWD/EMHAssist .venv/bin/python tools/evaluate_differential.py [--half tuning] [--figure PNG] [--markdown | --limits | --confidence | --overruled] [--proof KINDS]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))

from literature.cases import CASES_FILE, HALVES, load_cases  # noqa: E402
from literature.evaluate import (  # noqa: E402
    confidence_lines,
    draw_reliability,
    evaluate,
    limits_lines,
    markdown_table,
    overruled_lines,
    report_lines,
)

from case_findings import plain_assess as assess  # noqa: E402  (an encoded case is a plain report)
from EMHAssistLib.differential import knowledge  # noqa: E402
from EMHAssistLib.errors import InputError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES_FILE, help="the case set (default: Testing/literature/cases.json)")
    parser.add_argument("--figure", type=Path, help="write the reliability diagram (PNG) here")
    parser.add_argument("--title", default="Reliability of the differential on published cases")
    parser.add_argument("--markdown", action="store_true", help="print only the per-half table (docs/literature-cases.md)")
    parser.add_argument(
        "--limits", action="store_true",
        help="print only why each first answer is wrong: nothing stated separates the truth from it, the stated "
        "evidence favours the truth and the base weights outweigh it, or the stated evidence favours it",
    )
    parser.add_argument(
        "--confidence", action="store_true",
        help="print only how confident the wrong first answers are and what pushed them over the truth: the base "
        "weights, each clinical term, each finding (summed log-odds; per case on the tuning half)",
    )
    parser.add_argument(
        "--overruled", action="store_true",
        help="print only the cases whose first answer the images do not favour over a candidate below it (the prior "
        "decided) and whether the explanation's 'priors decide' line names that candidate (issue 14 point 6)",
    )
    parser.add_argument("--half", choices=HALVES, help="only this half's cases (tune on 'tuning'; 'validation' is for reporting)")
    parser.add_argument("--proof", help="only cases proven so, comma-separated (histology,surgery,microbiology,clinical,not_stated)")
    args = parser.parse_args(argv)
    try:
        cases = load_cases(args.cases)
        if args.proof:
            kinds = set(args.proof.split(","))
            cases = [case for case in cases if case["proof_kind"] in kinds]
        if args.half:
            cases = [case for case in cases if case["half"] == args.half]
        results = evaluate(cases, assess)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.markdown:
        shown = markdown_table(results)
    elif args.limits:
        shown = limits_lines(results)
    elif args.confidence:
        shown = confidence_lines(results)
    elif args.overruled:
        shown = overruled_lines(results, knowledge().images_separate_lr)
    else:
        shown = report_lines(results)
    print("\n".join(shown))
    if args.figure:
        draw_reliability(results, args.figure, args.title)
        print(f"reliability diagram: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
