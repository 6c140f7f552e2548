"""The `emhassist` command: analyse a case folder, build and analyse a built-in case, list cases."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import CAVEAT
from .errors import InputError


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _quiet_vtk()
    try:
        return args.run(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze
    from .casefolder import load_case_folder
    from .report import summary_text, write_json
    from .scene import new_headless_scene

    report = analyze(load_case_folder(Path(args.case), new_headless_scene()))
    if args.json:
        write_json(report, Path(args.json))
    else:
        print(summary_text(report), end="")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .analysis import analyze
    from .casefolder import load_case_folder, save_case_folder
    from .cases import DEFAULT_CASE, build_study, study_into_scene
    from .report import summary_text, write_json
    from .scene import new_headless_scene

    name = args.case or DEFAULT_CASE
    out = Path(args.out)
    case_folder = out / "cases" / name
    save_case_folder(study_into_scene(build_study(name), new_headless_scene()), case_folder)
    report = analyze(load_case_folder(case_folder, new_headless_scene()))
    write_json(report, out / f"{name}.json")
    text = summary_text(report)
    (out / f"{name}.txt").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"\nCase folder: {case_folder}\nReport: {out / f'{name}.json'}, {out / f'{name}.txt'}")
    return 0


def _cases(args: argparse.Namespace) -> int:
    from .cases import case_info, case_names

    names = case_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {case_info(name).title}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emhassist", description=f"EMHAssist. {CAVEAT}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    analyze = commands.add_parser("analyze", help="analyse a case folder")
    analyze.add_argument("case", help="folder with sequences, ROI files, levels and clinical.json")
    analyze.add_argument("--json", metavar="FILE", help="write the report as JSON instead of printing a summary")
    analyze.set_defaults(run=_analyze)
    demo = commands.add_parser("demo", help="build a built-in case, save it as a case folder and analyse it")
    demo.add_argument("--case", help="built-in case (default: the myelodysplastic-syndrome case)")
    demo.add_argument("--out", default="out", help="output folder (default out)")
    demo.set_defaults(run=_demo)
    cases = commands.add_parser("cases", help="list the built-in cases")
    cases.set_defaults(run=_cases)
    return parser


def _quiet_vtk() -> None:
    """VTK readers print their own multi-line errors; ours name the file in one line instead."""
    import vtk

    vtk.vtkObject.GlobalWarningDisplayOff()


if __name__ == "__main__":
    sys.exit(main())
