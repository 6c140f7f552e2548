"""The HTML report as docs/reports.md and the README show it: the built-in case's report (as `emhassist
analyze CASE --html FILE` writes it) in headless Chromium, its first screen as a browser shows it
(report-html.png), three of its parts as the README shows them (SECTIONS: report-html-levels.png, the
levels table with the normalised MSCC; report-html-bilsky.png, the Bilsky grade and canal compromise per
level; report-html-references.png, the first full citations), and printed with a browser's default
print settings, its first pages side by side as one PNG (report-print.png). Each printed page is drawn
by Chromium's own PDF viewer (pdfium), one page to a PDF, at DPI, and cut from the viewer's screenshot:
no PDF rasteriser beyond the browser the tests already use (pdftoppm, which this tool had needed, is
not on every machine that has Chromium).

    .venv/bin/python tools/render_report_print.py [--case mds_t5_t8] [--pages 3] [--out docs/images] [--pdf FILE]
"""

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from pypdf import PdfReader, PdfWriter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))
from browser import Browser
from EMHAssistLib.frontends.cli import main as emhassist
from EMHAssistLib.outputs.case_folder import save_case_folder
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
VIEWER_MARGIN_PX = 60  # room around a page in the PDF viewer's window, so that the whole page shows
CSS_DPI = 96  # the PDF viewer's 100 % zoom
PAPER_MIN = 230  # a channel value above which a pixel is the page's white paper, not the viewer's grey (40)


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
            pdf = browser.print_to_pdf((work / "report.html").as_uri())
        if args.pdf:
            args.pdf.parent.mkdir(parents=True, exist_ok=True)
            args.pdf.write_bytes(pdf)
        pages = pdf_pages(pdf, args.pages, DPI, work)
    _save(_side_by_side(pages), args.out / "report-print.png")
    print(f"{len(pages)} pages")


def pdf_pages(pdf: bytes, count: int, dpi: int, work: Path) -> list[Image.Image]:
    """The first `count` pages of a PDF as images at `dpi`, each drawn by Chromium's PDF viewer: the page
    alone in a PDF of its own (the viewer shows every page of a document, one under the other), without the
    viewer's toolbar, at the zoom that makes `dpi`, in a window a little larger than the page; the page is the
    white paper in the viewer's grey, cut at the paper's own size."""
    reader = PdfReader(io.BytesIO(pdf))
    images = []
    for number, page in enumerate(reader.pages[:count], start=1):
        size = (round(float(page.mediabox.width) * dpi / 72), round(float(page.mediabox.height) * dpi / 72))
        writer = PdfWriter()
        writer.add_page(page)
        path = work / f"page-{number}.pdf"
        with path.open("wb") as file:
            writer.write(file)
        with Browser(size[0] + 2 * VIEWER_MARGIN_PX, size[1] + 2 * VIEWER_MARGIN_PX) as viewer:
            viewer.navigate(f"{path.as_uri()}#toolbar=0&zoom={100 * dpi / CSS_DPI:.4f}")
            images.append(_page_in_viewer(viewer, size, path))
    return images


def _page_in_viewer(viewer: Browser, size: tuple[int, int], path: Path) -> Image.Image:
    """The page the viewer shows, once it has drawn it and its drawing has stopped changing: the
    paper's top-left corner found along the middle row and column, then the paper's size from there
    (the viewer's shadow lies outside it)."""
    deadline, last = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        try:
            shot = viewer.screenshot()
        except RuntimeError:  # "Not attached to an active page" while the viewer replaces the page it opened in
            time.sleep(0.5)
            continue
        paper = np.all(shot > PAPER_MIN, axis=2)
        columns, rows = np.flatnonzero(paper[shot.shape[0] // 2]), np.flatnonzero(paper[:, shot.shape[1] // 2])
        if columns.size and rows.size:
            left, top = int(columns[0]), int(rows[0])
            page = shot[top : top + size[1], left : left + size[0]]
            if page.shape[:2] == size[::-1] and last is not None and np.array_equal(page, last):
                return Image.fromarray(page)
            last = page
        time.sleep(0.5)
    sys.exit(f"error: {path}: Chromium's PDF viewer did not show the page at {size[0]} x {size[1]} px within 30 s")


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
