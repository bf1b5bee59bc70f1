"""The PDF a controller reads: short enough to hand over, a summary on page 2, contents, bookmarks, page N of M,
and in Danish nothing left in English."""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.report.catalogue import entries
from auditor.report.messages import Words
from auditor.report.render import render_reports
from auditor.report.view import build_view
from tests.fixtures.sample_fleet import build


def pdf_text(pdf: Path, *pages: int) -> str:
    first_last = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    return subprocess.run(["pdftotext", *first_last, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]


def squeezed(text: str) -> str:
    """Without any white space: lines wrap wherever the layout put them."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def sample_pdfs(sample_run, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pdf")
    return {lang: render_reports(sample_run, ["pdf"], lang, out)[0] for lang in ("en", "da")}


@pytest.mark.parametrize("lang", ["en", "da"])
def test_the_six_host_sample_fits_in_fifteen_pages_and_one_host_in_eight(sample_pdfs, one_host_run, tmp_path, lang):
    # Given the six-host sample and one recorded Debian server, rendered as PDF
    (one,) = render_reports(one_host_run, ["pdf"], lang, tmp_path)
    # Then they are short enough to take into a meeting
    assert page_count(sample_pdfs[lang]) <= 15
    assert page_count(one) <= 8


@pytest.mark.parametrize("lang", ["en", "da"])
def test_a_host_failing_twenty_checks_still_fits_in_eight_pages(tmp_path, lang):
    # Given the recorded build container: PostgreSQL and MariaDB installed but not running, no firewall, no
    # audit trail, no backup: about twenty failed checks, the heaviest one-host report the recordings give
    run = build(tmp_path / "run", hosts=("debian12-container",))
    failed = [f for f in json.loads((run / "results.json").read_text())["findings"] if f["status"] == "fail"]
    assert len(failed) >= 15
    # When its PDF is rendered
    (one,) = render_reports(run, ["pdf"], lang, tmp_path / "out")
    # Then it still fits in eight pages, in both languages
    assert page_count(one) <= 8


def test_page_two_is_the_summary_with_verdicts_legend_score_trend_and_top_deviations(sample_run, sample_pdfs):
    text = " ".join(pdf_text(sample_pdfs["en"], 2).split())
    total = page_count(sample_pdfs["en"])
    assert text.startswith("Executive summary") and f"Page 2 of {total}" in text
    for words in ("Compliance score", "applicable checks pass", "Rule: a check counts once per target", "Trend",
                  "Legend", "partly met", "some targets meet it and some do not", "not tested",
                  "nothing evidenced it; the reason is given", "Most serious deviations", "R12"):
        assert words in text, words
    # A fleet requirement failing on some targets says how many meet it
    assert re.search(r"partly met \d of 6 targets meet it", text)
    # Every requirement not tested says why, on the summary page
    view = build_view(sample_run)
    untested = [s for s in view.sections if s.status.value == "not_tested"]
    assert untested and all(s.reason for s in untested)
    assert text.count("No check could decide it") + text.count("the inventory has none") >= len(untested)
    # And the score of the run is the one the summary prints
    assert f"{view.score.passed} of {view.score.applicable} applicable checks pass" in text


def test_contents_bookmarks_and_page_numbers(sample_pdfs):
    cover = " ".join(pdf_text(sample_pdfs["en"], 1).split())
    # Every page says "page N of M"
    total = page_count(sample_pdfs["en"])
    assert f"Page {total} of {total}" in pdf_text(sample_pdfs["en"], total)
    # The PDF's outline (bookmarks), as a PDF reader lists it: the summary, each requirement (its id and title)
    # under "Requirements", the plan and the appendices
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", "-q", str(sample_pdfs["en"])], capture_output=True,
                         text=True, check=True).stdout
    outline = re.findall(r'<item page="(\d+)">([^<]*)</item>', xml)
    labels = [label for _, label in outline]
    assert labels[:3] == ["Security measures evidence report", "Executive summary", "Requirements"]
    assert "R1 Data at rest and in transit encrypted with at least AES-256" in labels
    assert [label.split()[0] for label in labels if re.match(r"R\d+ ", label)] == [f"R{i}" for i in range(1, 13)]
    assert labels[-2:] == ["Deviations and remediation plan", "Appendices"]
    assert outline[1][0] == "2" and int(outline[-1][0]) <= total
    # The contents on page 1 give each requirement, the plan and the appendices the page its bookmark points at
    bookmarked = {label: page for page, label in outline}
    for label in ("R1 Data at rest and in transit encrypted with at least AES-256",
                  "R12 All activities related to processing personal data are logged",
                  "Deviations and remediation plan", "Appendices"):
        listed = re.search(r"\b(\d+) " + re.escape(label), cover)
        assert listed and listed.group(1) == bookmarked[label], (label, listed and listed.group(1))


def test_a_requirement_section_gives_text_method_results_attestations_and_waivers(sample_pdfs):
    text = " ".join(pdf_text(sample_pdfs["en"]).split())
    # R10 is evidenced by an attestation: who, what, when, and when it is reviewed next
    for words in ("Physical security of the processor's premises by key locks", "Mette Jensen, Facility manager",
                  "All office doors have key locks", "1 October 2026", "1 January 2027"):
        assert words in text, words
    # The waiver for PATCH-0010 on servers: who approved it and until when, the day the profile wrote (expires:
    # 2026-12-07 is the end of that day, not "8 December, 00:00")
    assert "Region Example DPO" in text and "end of 7 December 2026 (Copenhagen time)" in text
    assert "8 December 2026" not in text
    # How a requirement is tested names the profile's parameters
    assert "(min_aes_bits) = 256" in text
    # The plan gives each target the remediation of its own operating system only
    assert "Windows: laptop-017" in text and "Linux: " in text


def test_the_danish_pdf_of_the_sample_holds_no_english_check_title_or_message(sample_run, sample_pdfs):
    # Given the sample fleet's Danish PDF
    text = squeezed(pdf_text(sample_pdfs["da"]))
    results = json.loads((sample_run / "results.json").read_text())
    words = Words("da")
    # Then no check title is in English, nor a waiver's scope ("roles: server")
    assert "roles:" not in text and "roller:" in text
    titles = [c["title"] for c in results["checks"].values()]
    assert not [t for t in titles if squeezed(t) in text]
    # And no finding message is in English: each has a Danish translation, and its English is nowhere
    messages = {f["skip_reason"] or f["message"] for f in results["findings"]}
    assert not [m for m in messages if words.msg(m) == m], "untranslated finding messages"
    assert not [m for m in messages if len(m) > 20 and squeezed(m) in text]
    # Nor any English piece of a message template (what a fragment left untranslated would show)
    leftovers = [piece for piece in _english_pieces() if piece in text]
    assert not leftovers, leftovers[:10]
    # And the fixed words are Danish: verdicts, severities, the footer
    for danish in ("Ledelsesresumé", "delvistopfyldt", "HØJ", "Udbedring", "Evidensrapport", "Side2af"):
        assert danish in text, danish


def _english_pieces() -> list[str]:
    """Literal stretches of four or more words of every translated message template (white space removed)."""
    pieces = []
    for entry in entries("da"):
        if not (entry.is_message and entry.msgstr) or entry.msgstr == entry.msgid:
            continue
        for literal, *_ in string.Formatter().parse(entry.msgid):
            if len(literal.split()) >= 4:
                pieces.append(squeezed(literal))
    return pieces


# Run in a fresh interpreter: the PDF tests above have already imported WeasyPrint into this one.
_COUNT_PROCESSES = """
import sys
started = []
sys.addaudithook(lambda event, args: started.append(args[1]) if event == "subprocess.Popen" else None)
from auditor.report.to_pdf import import_quietly
import_quietly(sys.argv[1])
print(len(started), " ".join(str(a[0]) for a in started))
"""


def test_weasyprint_is_imported_without_starting_a_process(tmp_path):
    # Given a fresh interpreter (cffi asks ctypes.util.find_library for every library name WeasyPrint tries
    # before the soname, and on Linux that starts ldconfig, gcc and ld each time)
    # When the PDF renderer imports WeasyPrint
    counted = subprocess.run([sys.executable, "-c", _COUNT_PROCESSES, "weasyprint"], capture_output=True, text=True,
                             check=True, cwd=tmp_path)
    # Then no process was started to find its libraries, and WeasyPrint has them (a PDF renders: tests above)
    assert counted.stdout.split(" ", 1)[0].strip() == "0", counted.stdout


def test_a_library_found_only_by_find_library_is_imported_the_usual_way(tmp_path):
    # Given a module that, like WeasyPrint with a library under a soname it does not list, loads only when
    # ctypes.util.find_library finds its library (a half-initialised submodule is left behind when it fails)
    package = tmp_path / "needs_find_library"
    package.mkdir()
    (package / "__init__.py").write_text("from needs_find_library import loader\nLIBRARY = loader.LIBRARY\n")
    (package / "loader.py").write_text("import ctypes.util\nLIBRARY = ctypes.util.find_library('c')\n"
                                       "if LIBRARY is None:\n    raise OSError('cannot load library c')\n")
    # When it is imported quietly
    counted = subprocess.run([sys.executable, "-c", _COUNT_PROCESSES + "import needs_find_library as m\n"
                              "print(m.LIBRARY)", "needs_find_library"], capture_output=True, text=True, check=True,
                             cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    # Then the quiet attempt failed and the usual import found the library (ldconfig was asked this time)
    processes, library = counted.stdout.splitlines()
    assert library.startswith("libc.so"), counted.stdout
    assert int(processes.split(" ", 1)[0]) >= 1, counted.stdout


@pytest.mark.parametrize("lang", ["en", "da"])
def test_no_count_of_results_runs_out_of_its_table_cell(sample_run, lang):
    # Given the sample fleet's PDF layout, where a check's result counts ("3 sprunget over", "2 not applicable")
    # stand in a narrow column beside the findings
    from auditor.report import to_pdf
    from auditor.report.to_html import render_html
    from auditor.visible import visible

    html = visible(render_html(build_view(sample_run), lang, full=False))
    root = to_pdf.TEMPLATES.resolve()
    document = to_pdf.import_quietly("weasyprint").HTML(string=html, base_url=f"{root}/",
                                                         url_fetcher=to_pdf._fetcher_class(root)()).render()
    # When each count's box is compared with the cell it stands in (as WeasyPrint laid them out)
    counts, overflowing = 0, []

    def walk(box: object, cell: object) -> None:
        nonlocal counts
        element = getattr(box, "element", None)
        if type(box).__name__ == "TableCellBox":
            cell = box
        if cell is not None and type(box).__name__ == "InlineBlockBox" and element is not None \
                and "n" in element.get("class", "").split():
            counts += 1
            right, limit = box.position_x + box.margin_width(), cell.content_box_x() + cell.width
            if right > limit + 0.5:
                overflowing.append(("".join(element.itertext()), round(right - limit, 1)))
        for child in getattr(box, "children", ()):
            walk(child, cell)

    for page in document.pages:
        walk(page._page_box, None)
    # Then every count ends inside its cell (before, the Danish ones were printed over the findings' text)
    assert counts > 50 and not overflowing, overflowing[:5]
