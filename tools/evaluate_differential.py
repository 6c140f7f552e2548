"""Measure the differential on the published-case set (Testing/literature, docs/literature-cases.md).

Prints, for the tuning and the validation half, top-1, top-3 and top-1 by diagnosis, Brier score,
log loss, the mean probability of a wrong first answer, the cases whose true diagnosis got under 5 %
although its hallmark was stated, and top-1 from clinical context alone, imaging alone and both;
then every case. Draws the reliability diagram. Research and teaching use only.

    PYTHONPATH=$PWD/EMHAssist .venv/bin/python tools/evaluate_differential.py [--half tuning] [--figure PNG] [--markdown | --limits | --confidence | --overruled] [--proof KINDS]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))

from literature.cases import CASES_FILE, HALVES, PROOF_KINDS, load_cases  # noqa: E402
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
from EMHAssistLib.frontends.cli import OneLineParser  # noqa: E402  (argparse's complaints as one error line)
from EMHAssistLib.frontends.cli import check_outputs, writing  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES_FILE, help="the case set (default: Testing/literature/cases.json)")
    parser.add_argument("--figure", type=Path, help="write the reliability diagram (PNG) here")
    parser.add_argument("--title", default="Reliability of the differential on published cases")
    shown = parser.add_mutually_exclusive_group()  # one view at a time: a second was ignored without a word
    shown.add_argument("--markdown", action="store_true", help="print only the per-half table (docs/literature-cases.md)")
    shown.add_argument(
        "--limits", action="store_true",
        help="print only why each first answer is wrong: nothing stated separates the truth from it, the stated "
        "evidence favours the truth and the base weights outweigh it, or the stated evidence favours it",
    )
    shown.add_argument(
        "--confidence", action="store_true",
        help="print only how confident the wrong first answers are and what pushed them over the truth: the base "
        "weights, each clinical term, each finding (summed log-odds; per case on the tuning half)",
    )
    shown.add_argument(
        "--overruled", action="store_true",
        help="print only the cases whose first answer the images do not favour over a candidate below it (the prior "
        "decided) and whether the explanation's 'priors decide' line names that candidate (issue 14 point 6)",
    )
    parser.add_argument("--half", choices=HALVES, help="only this half's cases (tune on 'tuning'; 'validation' is for reporting)")
    parser.add_argument("--proof", help="only cases proven so, comma-separated (histology,surgery,microbiology,clinical,not_stated)")
    try:
        args = parser.parse_args(argv)
        if args.figure:
            check_figure(args.figure)
        cases = selected_cases(load_cases(args.cases), args.half, args.proof)
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
        try:
            with writing(args.figure):
                args.figure.parent.mkdir(parents=True, exist_ok=True)  # as the command line's outputs are
                draw_reliability(results, args.figure, args.title)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"reliability diagram: {args.figure}")
    return 0


def selected_cases(cases: list[dict], half: str | None, proof: str | None) -> list[dict]:
    """The cases of `half` proven as `proof` says; a proof kind not in the set's vocabulary, or a
    selection of no case, is refused (it printed an empty table, or divided by zero with --markdown)."""
    if proof:
        kinds = proof.split(",")
        unknown = [kind for kind in kinds if kind not in PROOF_KINDS]
        if unknown:
            raise InputError("--proof", f"unknown proof kind {unknown[0]!r}; known: {', '.join(PROOF_KINDS)}")
        cases = [case for case in cases if case["proof_kind"] in kinds]
    if half:
        cases = [case for case in cases if case["half"] == half]
    if not cases:
        raise InputError("--half/--proof", f"select no case of the set (half {half or 'any'}, proof {proof or 'any'})")
    return cases


def check_figure(path: Path) -> None:
    """Refused before the evaluation runs: a path the command line would refuse (a folder, a device, under
    a file), and one whose suffix names no image format (matplotlib added '.png' to a bare name, so the
    line printed named a file that was not written, or raised a ValueError traceback on '.txt')."""
    from matplotlib.figure import Figure

    check_outputs({"figure": str(path)}, [])
    formats = Figure().canvas.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        raise InputError(str(path), f"names no image format matplotlib writes; end it in one of: {', '.join('.' + name for name in sorted(formats))}")


if __name__ == "__main__":
    sys.exit(main())
