"""`--html` with hostile text in every field: nothing escapes its element, nothing reaches the style
sheet, the caveat stays visible and the page requests nothing.

The page is parsed (the style sheet and any script must hold none of the hostile text), then loaded in
Debian's headless Chromium while a local HTTP server listens for the requests the hostile text tries
to make: it must receive none. The hostile strings are the issue's attacks (a form feed that ends the
CSS string, `</style>`, CSS that hides the caveat and prints "DIAGNOSIS CONFIRMED", markup, URLs to
load) put into the case name, file names in the warnings, image titles and every text of the
differential, levels and regions.
"""

import copy
import html
import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from small_case import write_small_case
from test_reports import built_in_case

from EMHAssistLib import CAVEAT
from EMHAssistLib.frontends.cli import main
from EMHAssistLib.outputs.report import from_json
from EMHAssistLib.outputs.report_html import KeyImage, html_page
from EMHAssistLib.report_codec import model_value
from EMHAssistLib.report_model import RatioKey, Report

MARKER = "PWNED"  # in every hostile string: it must never reach the style sheet or a script
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5b5d5a70000000049454e44ae426082")


def hostile_strings(port: int) -> list[str]:
    """Each tries another way out of its context, and to fetch http://127.0.0.1:port/<what it is>."""
    url = f"http://127.0.0.1:{port}"
    return [
        f'{MARKER}\f}} }} body {{ background: url({url}/formfeed) }} #caveat {{ display: none }} h1::after {{ content: "DIAGNOSIS CONFIRMED" }} x {{ content: "',
        f'{MARKER}"; }} }} @import url({url}/import); body {{ background: url({url}/quote) }} @page {{ @top-left {{ content: "',
        f"{MARKER}</style><style>#caveat {{ visibility: hidden }} body {{ background: url({url}/endstyle) }}</style>",
        f'{MARKER}<script>fetch("{url}/script")</script><img src="{url}/img"><link rel="stylesheet" href="{url}/link">',
        f'{MARKER}" onerror="fetch(\'{url}/attribute\')" x="',
        f"{MARKER}\r\n\x0b\u2028</title><meta http-equiv=refresh content='0;url={url}/refresh'>",
    ]


def hostile_report(report: dict, port: int) -> Report:
    """The report with hostile text in every field the page shows that a case or the knowledge can hold."""
    hostile = hostile_strings(port)
    pick = iter(hostile * 100)
    changed = copy.deepcopy(report)
    changed["case"] = hostile[0] + hostile[2]
    changed["warnings"] = [f"{text}.nrrd: an ROI extends outside the field of view" for text in hostile]
    changed["sequences"] = {next(pick): info for info in report["sequences"].values()}
    for entry in changed["differential"]:
        entry["name"], entry["summary"] = next(pick), next(pick)
        for item in entry["evidence"]:
            item["text"] = next(pick)
        for factor in entry["prior_factors"]:
            factor["label"], factor["reason"] = next(pick), next(pick)
    changed["next_best"]["text"] = next(pick)
    changed["not_measured"] = [{"feature": "hostile", "name": text, "missing": []} for text in hostile]
    levels = changed["levels"]
    for vertebra in levels["vertebrae"]:
        vertebra["name"] = next(pick)
    for entry in levels["cord_profile"]:
        entry["level"] = next(pick)
    levels["compression"]["at"] = next(pick)
    changed["regions"] = {next(pick): by_role for by_role in report["regions"].values()}
    changed["ratios"] = {RatioKey.of_regions("T2", next(pick), next(pick)): ratio for ratio in report["ratios"].values()}
    changed["enhancement"] = {next(pick): value for value in report["enhancement"].values()}
    return model_value(changed, Report)  # read as the model directly: a hostile ratio key has no text form to parse


class Parsed(HTMLParser):
    """Every element with its attributes, and the raw text of each <style> and <script>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self._open: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag in self.raw:
            self.raw[tag].append("")
            self._open = tag

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None

    def handle_data(self, data):
        if self._open:
            self.raw[self._open][-1] += data


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server recording every request made to it."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], requests
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def real_report(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("hostile")
    case = built_in_case(folder / "case")
    assert main(["analyze", str(case), "--json", str(folder / "report.json")]) == 0
    return json.loads((folder / "report.json").read_text())  # the JSON report as stored, edited in JSON values below


def assert_contained(text: str) -> None:
    """No hostile text in the style sheet or a script; no script, no style attribute, no load but data:."""
    page = Parsed(text)
    assert len(page.raw["style"]) == 1 and page.raw["script"] == []
    assert MARKER not in page.raw["style"][0] and "DIAGNOSIS" not in page.raw["style"][0]
    assert not re.search(r"url\(|@import|127\.0\.0\.1", page.raw["style"][0])
    tags = [tag for tag, _ in page.elements]
    assert tags.count("style") == 1 and "script" not in tags and "link" not in tags
    assert [attributes.get("http-equiv") for tag, attributes in page.elements if tag == "meta"] == [None, "Content-Security-Policy"]
    for tag, attributes in page.elements:
        assert "style" not in attributes and not any(name.startswith("on") for name in attributes), (tag, attributes)
        for name in ("src", "href"):
            assert attributes.get(name, "data:").startswith("data:"), (tag, attributes)
    head = text[: text.index("</head>")]
    assert head.index("Content-Security-Policy") < head.index("<style>"), "the policy must come before anything it governs"
    (policy,) = [attributes["content"] for tag, attributes in page.elements if attributes.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in policy and "img-src data:" in policy and "'unsafe-inline'" not in policy


def test_hostile_text_in_every_field_stays_text_out_of_the_style_sheet(real_report, listener):
    port, _ = listener
    report = hostile_report(real_report, port)
    text = html_page(report, [KeyImage(hostile_strings(port)[3], hostile_strings(port)[4], PNG)])
    assert_contained(text)
    page = Parsed(text)
    assert [tag for tag, _ in page.elements].count("h1") == 1
    shown = html.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", "", text, flags=re.S))
    for hostile in hostile_strings(port):  # shown as the text it is, not dropped
        assert hostile in shown


def visible_caveats(browser) -> list[dict]:
    return browser.evaluate(
        "Array.from(document.querySelectorAll('.caveat')).map(e => {const s = getComputedStyle(e); const r = e.getBoundingClientRect();"
        " return {text: e.innerText, display: s.display, visibility: s.visibility, opacity: s.opacity, height: r.height, width: r.width,"
        " colour: s.color};})"
    )


def test_the_hostile_page_in_a_browser_requests_nothing_and_shows_its_caveat(real_report, listener, browser, tmp_path):
    port, requests = listener
    report = hostile_report(real_report, port)
    path = tmp_path / "hostile.html"
    path.write_text(html_page(report, [KeyImage(hostile_strings(port)[3], "caption", PNG)]), encoding="utf-8")
    load_and_settle(browser, path)
    assert requests == [], f"the page requested {requests}"
    assert_caveat_shown(browser, real_report["caveat"])
    pseudo = browser.evaluate("getComputedStyle(document.querySelector('h1'), '::after').content")
    assert pseudo in ("none", "normal", ""), pseudo


def load_and_settle(browser, path: Path) -> None:
    browser.navigate(path.as_uri())
    browser.wait_for(f"location.href === {json.dumps(path.as_uri())} && document.readyState === 'complete'", 20, "the page loaded")
    browser.evaluate("new Promise(done => setTimeout(done, 1500))")  # time for any request the page would make


def assert_caveat_shown(browser, caveat: str) -> None:
    caveats = visible_caveats(browser)
    assert len(caveats) == 2
    for shown in caveats:
        assert shown["text"] == caveat
        assert shown["display"] != "none" and shown["visibility"] == "visible" and float(shown["opacity"]) == 1
        assert shown["height"] > 10 and shown["width"] > 100


def test_a_case_folder_named_to_break_out_of_the_css_is_harmless_end_to_end(tmp_path, scene, listener, browser):
    """The issue's attack through the command line: a folder name (no slash allowed, so the URL is
    `http:127.0.0.1:PORT`, which browsers read as http://127.0.0.1:PORT/) ending the CSS string with a form feed."""
    port, requests = listener
    name = f'{MARKER}\f}} }} body {{ background: url(http:127.0.0.1:{port}) }} #caveat, footer {{ display: none }} h1::after {{ content: "DIAGNOSIS CONFIRMED" }} x {{ x: "'
    case = write_small_case(tmp_path / name, scene)
    out = tmp_path / "report.html"
    assert main(["analyze", str(case), "--html", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert_contained(text)
    before = len(requests)
    load_and_settle(browser, out)
    assert requests[before:] == [], f"the page requested {requests[before:]}"
    assert_caveat_shown(browser, CAVEAT)
    assert "DIAGNOSIS CONFIRMED" not in browser.evaluate("getComputedStyle(document.querySelector('h1'), '::after').content")


def test_the_policy_blocks_a_load_the_page_might_still_make(tmp_path, listener, browser, real_report):
    """Defence in depth: the same page with a stray network image added by hand loads nothing either."""
    port, requests = listener
    text = html_page(from_json(real_report, "report.json"), [])
    stray = text.replace("</body>", f'<img src="http://127.0.0.1:{port}/stray"><div style="background: url(http://127.0.0.1:{port}/attr)">x</div></body>')
    path = tmp_path / "stray.html"
    path.write_text(stray, encoding="utf-8")
    before = len(requests)
    load_and_settle(browser, path)
    assert requests[before:] == []


def test_a_case_name_that_is_not_utf8_is_written_replaced_not_a_crash(real_report, tmp_path):
    """A folder name with a byte that is not UTF-8 reaches Python as a lone surrogate (os.fsdecode)."""
    from EMHAssistLib.outputs.report_html import write_html

    name = os.fsdecode(b"case\xff")
    write_html(from_json({**real_report, "case": name}, "report.json"), [], tmp_path / "report.html")
    assert "EMHAssist report — case case?" in (tmp_path / "report.html").read_text(encoding="utf-8")
