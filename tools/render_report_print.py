"""The HTML report as docs/reports.md and the README show it: the built-in case's report (as `emhassist
analyze CASE --html FILE` writes it) in headless Chromium, its first screen as a browser shows it
(report-html.png), three of its parts as the README shows them (SECTIONS: report-html-levels.png, the
levels table with the normalised MSCC; report-html-bilsky.png, the Bilsky grade and canal compromise per
level; report-html-references.png, the first full citations), and printed with a browser's default
print settings, its first pages side by side as one PNG (report-print.png). Rasterising the PDF needs
Debian's poppler-utils (pdftoppm).

    .venv/bin/python tools/render_report_print.py [--case mds_t5_t8] [--pages 3] [--out docs/images] [--pdf FILE]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))
from browser import Browser
from EMHAssistLib.frontends.cli import main as emhassist
from EMHAssistLib.inputs.casefolder import save_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.teaching.cases import DEFAULT_CASE, build_study, study_into_scene

DPI = 80
SCREEN_PX = (1200, 1400)  # width, height: the headline, levels and first key images
GUTTER_PX = 16
# picture -> a script returning the page elements it shows, from the first to the last (their boxes' union).
SECTIONS = {
    "report-html-levels.png": "[document.querySelector('#levels h2'), document.querySelector('#levels table')]",
    "report-html-bilsky.png": "(() => { const h = [...document.querySelectorAll('#levels h3')].find(e => e.textContent.startsWith('Bilsky'));"
    " const rows = h.nextElementSibling.querySelectorAll('tr'); return [h, rows[Math.min(rows.length - 1, 7)]]; })()",
    "report-html-references.png": "[document.querySelector('#references h2'), document.querySelectorAll('#references li')[3]]",
}
MARGIN_PX = 8


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=DEFAULT_CASE)
    parser.add_argument("--pages", type=int, default=3, help="how many pages to show side by side")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--pdf", type=Path, help="also keep the whole PDF here")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        case = work / args.case
        save_case_folder(study_into_scene(build_study(args.case), new_headless_scene()), case)
        if emhassist(["analyze", str(case), "--html", str(work / "report.html")]) != 0:
            sys.exit(f"error: {case}: the analysis failed")
        with Browser(*SCREEN_PX) as browser:
            browser.navigate((work / "report.html").as_uri())
            browser.wait_for("document.readyState === 'complete' && [...document.images].every(i => i.complete)", 30, "the report's images")
            _save(Image.fromarray(browser.screenshot()), args.out / "report-html.png")
            for name, elements in SECTIONS.items():
                _save(_section(browser, elements), args.out / name)
            if shutil.which("pdftoppm") is None:
                sys.exit("error: pdftoppm: not found, report-print.png not redrawn; apt-get install poppler-utils")
            pdf = browser.print_to_pdf((work / "report.html").as_uri())
        (work / "report.pdf").write_bytes(pdf)
        if args.pdf:
            args.pdf.parent.mkdir(parents=True, exist_ok=True)
            args.pdf.write_bytes(pdf)
        command = ["pdftoppm", "-r", str(DPI), "-png", "-f", "1", "-l", str(args.pages), str(work / "report.pdf"), str(work / "page")]
        subprocess.run(command, check=True)
        pages = [Image.open(path).convert("RGB") for path in sorted(work.glob("page-*.png"))]
    _save(_side_by_side(pages), args.out / "report-print.png")
    print(f"{len(pages)} pages")


def _section(browser: Browser, elements: str) -> Image.Image:
    """The part of the page from the first to the last of `elements`, scrolled to the top of the window."""
    first_top = browser.evaluate(f"(() => {{ const [a] = {elements}; a.scrollIntoView(); return a.getBoundingClientRect().top; }})()")
    browser.wait_for(f"(() => {{ const [a] = {elements}; return Math.abs(a.getBoundingClientRect().top - {first_top}) < 1; }})()", 10, "the page scrolled")
    left, top, right, bottom = browser.evaluate(
        f"(() => {{ const [a, b] = {elements}; const r = a.parentElement.getBoundingClientRect(), s = a.getBoundingClientRect(), e = b.getBoundingClientRect();"
        " return [r.left, s.top, r.right, e.bottom]; })()"
    )
    shot = Image.fromarray(browser.screenshot())
    if bottom > shot.height:
        sys.exit(f"error: {elements}: taller than the {shot.height} px window")
    return shot.crop((max(0, int(left) - MARGIN_PX), max(0, int(top) - MARGIN_PX), min(shot.width, int(right) + MARGIN_PX), int(bottom) + MARGIN_PX))


def _save(image: Image.Image, path: Path) -> None:
    image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(path, optimize=True)
    print(path)


def _side_by_side(pages: list[Image.Image]) -> Image.Image:
    width = sum(page.width for page in pages) + GUTTER_PX * (len(pages) + 1)
    height = max(page.height for page in pages) + 2 * GUTTER_PX
    sheet = Image.new("RGB", (width, height), (128, 134, 140))
    x = GUTTER_PX
    for page in pages:
        sheet.paste(page, (x, GUTTER_PX))
        x += page.width + GUTTER_PX
    return sheet


if __name__ == "__main__":
    main()
