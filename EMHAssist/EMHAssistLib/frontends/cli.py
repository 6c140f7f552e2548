"""The `emhassist` command: analyse a case folder, build and analyse a built-in case, list cases."""

import argparse
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .. import CAVEAT
from ..errors import SHOWN_ERRORS, InputError, one_line
from ..settings import batch_settings

if TYPE_CHECKING:  # imported where used: the command line starts without Slicer's libraries
    from ..analysis import Analysis
    from ..followup import Comparison


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        _quiet_vtk()
        return args.run(args)
    except SHOWN_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)  # one line: InputError escapes and cuts what it echoes; a data file's is ours
        return 2


def _analyze(args: argparse.Namespace) -> int:
    if args.csv:
        return _analyze_batch(args)
    from ..analysis import run_analysis
    from ..inputs.casefolder import load_case_folder
    from ..inputs.scene import new_headless_scene
    from ..outputs.report import summary_text, write_json

    outputs = {option: getattr(args, option) for option in ("json", "html", "sr")}
    check_outputs(outputs, [Path(args.case)])  # before the case is read: a wrong path loses no work
    study = load_case_folder(Path(args.case), new_headless_scene())
    evidence = None
    if args.sr:
        from ..outputs.structured_report import dicom_evidence

        evidence = dicom_evidence(study)  # refused before the analysis runs, not after
    analysis = run_analysis(study)
    if args.json:
        with writing(Path(args.json)):
            write_json(analysis.report, Path(args.json))
    if args.html:
        from ..outputs.key_images import key_images
        from ..outputs.report_html import write_html

        images = key_images(study, analysis)
        with writing(Path(args.html)):
            write_html(analysis.report, images, Path(args.html))
    if evidence is not None:
        from ..outputs.structured_report import write_structured_report

        with writing(Path(args.sr)):
            write_structured_report(analysis.report, evidence, Path(args.sr))
    if not (args.json or args.html or args.sr):
        print(summary_text(analysis.report), end="")
    return 0


def _analyze_batch(args: argparse.Namespace) -> int:
    from ..outputs.batch import analyze_cases, case_folders

    if args.json or args.html or args.sr:
        raise InputError("--csv", "analyses a folder of case folders; --json, --html and --sr take a single case")
    if args.workers < 1:
        raise InputError("--workers", f"must be at least 1, not {args.workers}")
    check_outputs({"csv": args.csv}, case_folders(Path(args.case)))  # before any case runs
    with writing(Path(args.csv)):
        finished = analyze_cases(
            Path(args.case),
            Path(args.csv),
            progress=lambda line: print(one_line(line), flush=True),
            workers=args.workers,
            time_limit_s=args.time_limit,
            scheduler=args.dask_scheduler,
        )
    return 0 if finished else 1


def check_outputs(outputs: dict[str, str | None], case_folders: Sequence[Path], stored_reports: Sequence[Path] = ()) -> None:
    """Refuse, before anything is read, an output that cannot or must not be written: a folder, a
    device or FIFO (/dev/full), a path under a file, a path inside a case folder or onto one of its
    inputs or onto a stored report being read (paths compared resolved, so links and `..` do not get
    round it), one file for two outputs."""
    seen: dict[Path, str] = {}
    cases = [case.resolve() for case in case_folders]
    for option, given in outputs.items():
        if not given:
            continue
        path = Path(given).expanduser()
        target = path.resolve()
        if target in seen:
            raise InputError(given, f"is given for both --{seen[target]} and --{option}; each output needs its own file")
        seen[target] = option
        if target.is_dir():
            raise InputError(given, f"is a folder; --{option} takes a file name")
        if target.exists() and not target.is_file():
            raise InputError(given, f"is not a regular file (a device, FIFO or socket); --{option} takes a file name")
        ancestor = next(parent for parent in target.parents if parent.exists())
        if not ancestor.is_dir():
            raise InputError(given, f"cannot be created: {ancestor} is a file, not a folder")
        for case in cases:
            if target.is_relative_to(case):
                raise InputError(given, f"is inside the case folder {case}; nothing is ever written into a case folder")
            if target.exists() and any(_same_file(target, held) for held in case.rglob("*")):
                raise InputError(given, f"is an input of the case {case}; an output never overwrites an input")
        if target.exists() and any(_same_file(target, report) for report in stored_reports):
            raise InputError(given, "is one of the stored reports being compared; an output never overwrites an input")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.is_file() and a.samefile(b)
    except OSError:
        return False


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """An output that fails while it is written (disk full, permissions) is one error line naming it."""
    try:
        yield
    except OSError as error:
        raise InputError(str(path), f"could not be written: {error.strerror or error}") from None


def _compare(args: argparse.Namespace) -> int:
    from ..analysis import run_analysis
    from ..followup import compare
    from ..inputs.casefolder import load_case_folder
    from ..inputs.scene import new_headless_scene
    from ..outputs.comparison import stored_report, summary_text, write_csv, write_json

    exams = [Path(args.earlier), Path(args.later)]
    for exam in exams:
        if exam.is_file() and not _is_report_file(exam):  # a DICOM or image file: say what an exam may be
            raise InputError(str(exam), "is neither a case folder nor a report JSON; give a case folder, or a report that `emhassist analyze --json` wrote")
    folders = [exam for exam in exams if not _is_report_file(exam)]
    stored = [exam for exam in exams if exam not in folders]
    check_outputs({"json": args.json, "html": args.html, "csv": args.csv}, folders, stored)  # before either exam is read: a wrong path loses no work
    analyses = {folder: run_analysis(load_case_folder(folder, new_headless_scene())) for folder in folders}
    reports = [analyses[exam].report if exam in analyses else stored_report(exam) for exam in exams]
    comparison = compare(*reports, given_as=(str(exams[0]), str(exams[1])))
    if args.json:
        with writing(Path(args.json)):
            write_json(comparison, Path(args.json))
    if args.csv:
        with writing(Path(args.csv)):
            write_csv(comparison, Path(args.csv))
    if args.html:
        _write_comparison_html(comparison, exams, analyses, Path(args.html))
    if not (args.json or args.html or args.csv):
        print(summary_text(comparison), end="")
    return 0


def _write_comparison_html(comparison: "Comparison", exams: list[Path], analyses: Mapping[Path, "Analysis"], path: Path) -> None:
    """The comparison page; the key images need both exams' volumes, so a stored report (which holds
    none) gives a page without them that says why."""
    from ..inputs.casefolder import load_case_folder
    from ..inputs.scene import new_headless_scene
    from ..outputs.comparison import shown_level, write_html
    from ..outputs.key_images import views_at_level

    level = shown_level(comparison)
    stored = [exam for exam in exams if exam not in analyses]
    columns: tuple = ([], [])
    no_images = ""
    if stored:
        no_images = f"No key images: {' and '.join(map(str, stored))} {'is a stored report' if len(stored) == 1 else 'are stored reports'}, and a stored report holds no images: give both exams as case folders to see them side by side."
    elif level:
        labels = (f"Earlier exam ({comparison.earlier.date or comparison.earlier.case})", f"Later exam ({comparison.later.date or comparison.later.case})")
        # Slice views render only the newest application's scene: each exam is read again into its own, in turn.
        columns = tuple(views_at_level(load_case_folder(folder, new_headless_scene()), analyses[folder], level, label) for folder, label in zip(exams, labels))
    with writing(path):
        write_html(comparison, columns, path, no_images)


def _is_report_file(exam: Path) -> bool:
    return exam.suffix.lower() == ".json" and not exam.is_dir()


def _demo(args: argparse.Namespace) -> int:
    from ..analysis import analyze
    from ..inputs.casefolder import load_case_folder
    from ..outputs.case_folder import save_case_folder
    from ..inputs.scene import new_headless_scene
    from ..outputs.report import summary_text, write_json
    from ..teaching.cases import DEFAULT_CASE, study_into_scene
    from ..teaching.followup import exams_of

    name = args.case or DEFAULT_CASE
    out = Path(args.out)
    _check_output_folder(out, "--out")  # before the case is built: minutes of work lost otherwise
    exams = exams_of(name)
    for exam_name, study in exams.items():
        save_case_folder(study_into_scene(study, new_headless_scene()), out / "cases" / exam_name)
    case_folder = out / "cases" / name
    if args.dicom:
        from ..outputs.dicom_series import case_folder_as_dicom

        case_folder_as_dicom(case_folder, list(exams[name].sequences), patient_id=f"EMH-{name}")
    report = analyze(load_case_folder(case_folder, new_headless_scene()))
    write_json(report, out / f"{name}.json")
    text = summary_text(report)
    (out / f"{name}.txt").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"\nCase folder: {case_folder}\nReport: {out / f'{name}.json'}, {out / f'{name}.txt'}")
    if len(exams) > 1:
        earlier = out / "cases" / next(iter(exams))
        print(f"Earlier exam of the same patient: {earlier}\nCompare them: emhassist compare {earlier} {case_folder}")
    return 0


def _check_output_folder(folder: Path, option: str) -> None:
    """Refuse a folder to write into that is a file, or lies under one, or whose path holds a backslash
    (Slicer's writers take it for a folder separator: `--out 'o\\ut'` wrote the volumes into o/ut and the
    rest into o\\ut, then failed reading them back)."""
    if "\\" in str(folder.resolve()):
        raise InputError(str(folder), f"its path holds a backslash, which Slicer's writers take for a folder separator; {option} takes a folder without one")
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        subject = "is a file" if existing == folder else f"cannot be created: {existing} is a file"
        raise InputError(str(folder), f"{subject}; {option} takes a folder")


def _cases(args: argparse.Namespace) -> int:
    from ..teaching.cases import case_info, case_names
    from ..teaching.followup import follow_up_names

    names = case_names() + follow_up_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {case_info(name).title}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .serve import serve

    serve(args.case, args.port, args.host, args.load_time_limit, args.earlier)
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse's own complaints (a missing argument, `--port abc`, an unknown option) as the one
    error line of every bad input, instead of a usage block and a line of another form; the tools'
    parsers use it too (tools/evaluate_differential.py).

    Options are matched whole, in every command (its subcommands' parsers are of this class): by
    default argparse takes `--jso` for `--json`, so a typo ran with an option the user did not name,
    and a prefix that names one option today would name another once an option is added."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument "):
            option, _, problem = message.removeprefix("argument ").partition(": ")
            raise InputError(option, f"{problem} (`{self.prog} --help` lists the arguments)")
        raise InputError(self.prog, f"{message} (`{self.prog} --help` lists the arguments)")


def _port(text: str) -> int:
    """A TCP port to listen on: 1 to 65535 (0 would let the system pick one the printed address does not name)."""
    if not text.strip().isdecimal() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    """A time limit: a positive number of seconds up to data/batch.json's longest (NaN compares false with
    every limit, so it never ran out; 1e10 s overflowed Python's waits, a traceback)."""
    longest = batch_settings().longest_time_limit_s
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds <= longest):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, at most {longest:g}, not {text!r}")
    return seconds


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="emhassist", description=f"EMHAssist. {CAVEAT}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    analyze = commands.add_parser("analyze", help="analyse a case folder")
    analyze.add_argument("case", help="folder with sequences, ROI files, levels and clinical.json (with --csv: a folder of such folders)")
    analyze.add_argument("--json", metavar="FILE", help="write the report as JSON instead of printing a summary")
    analyze.add_argument("--html", metavar="FILE", help="write a self-contained HTML report with key images")
    analyze.add_argument("--sr", metavar="FILE", help="write a DICOM Structured Report (TID 1500); the sequences must be DICOM series")
    analyze.add_argument(
        "--csv", metavar="FILE", help="analyse every case folder inside CASE, one CSV row per case, each written as its case finishes; exit 1 if any case failed"
    )
    analyze.add_argument("--workers", type=int, default=1, metavar="N", help="with --csv: cases analysed at once, each in a worker process (default 1)")
    analyze.add_argument(
        "--time-limit",
        type=_seconds,
        default=float(batch_settings().case_time_limit_s),
        metavar="SECONDS",
        help="with --csv: a case still running after this long becomes an error row (default %(default)g s, data/batch.json)",
    )
    analyze.add_argument(
        "--dask-scheduler", metavar="ADDRESS", help="with --csv: run the cases on this Dask distributed cluster (tcp://host:8786) instead of local workers"
    )
    analyze.set_defaults(run=_analyze)
    compare = commands.add_parser("compare", help="compare two exams of one patient: what changed from EARLIER to LATER")
    compare.add_argument("earlier", metavar="EARLIER", help="the earlier exam: a case folder (its clinical.json names the patient) or a report JSON that analyze --json wrote")
    compare.add_argument("later", metavar="LATER", help="the later exam of the same patient: a case folder or a report JSON")
    compare.add_argument("--json", metavar="FILE", help="write the comparison (emhassist.comparison/1) instead of printing it")
    compare.add_argument("--html", metavar="FILE", help="write one self-contained page with both exams' key images side by side (given two case folders)")
    compare.add_argument("--csv", metavar="FILE", help="write the per-level table (mass, compression, MSCC, Bilsky then and now) as CSV")
    compare.set_defaults(run=_compare)
    demo = commands.add_parser("demo", help="build a built-in case, save it as a case folder and analyse it")
    demo.add_argument("--case", help="a built-in case named by `emhassist cases` (default: mds_t5_t8)")
    demo.add_argument("--out", default="out", help="output folder (default out)")
    demo.add_argument("--dicom", action="store_true", help="write each sequence as a DICOM series folder (for --sr) instead of NRRD")
    demo.set_defaults(run=_demo)
    cases = commands.add_parser("cases", help="list the built-in cases")
    cases.set_defaults(run=_cases)
    serve = commands.add_parser("serve", help="serve a case in a local web app: Slicer's slice views, results, quiz")
    serve.add_argument("case", metavar="CASE|NAME", help="a case folder (results shown), or a built-in case (opens as a quiz)")
    serve.add_argument("--port", type=_port, default=8080, help="port (default 8080)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    serve.add_argument(
        "--earlier",
        action="append",
        metavar="EXAM",
        help="an earlier exam of the same patient (a report JSON or a case folder) the page offers to compare with; repeat for more",
    )
    serve.add_argument(
        "--load-time-limit",
        type=_seconds,
        default=float(batch_settings().serve_load_time_limit_s),
        metavar="SECONDS",
        help="a case folder whose files have not loaded after this long is refused (default %(default)g s, data/batch.json)",
    )
    serve.set_defaults(run=_serve)
    return parser


def _quiet_vtk() -> None:
    """VTK readers print their own multi-line errors; ours name the file in one line instead."""
    import vtk

    vtk.vtkObject.GlobalWarningDisplayOff()


if __name__ == "__main__":
    sys.exit(main())
