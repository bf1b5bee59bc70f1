"""The HTML report as a drill-down, in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium; nothing is downloaded): filters, search, sort, collapsed raw evidence, and no network at all."""

from __future__ import annotations

import http.server
import json
import threading
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from auditor.report.render import render_reports
from tests.report_factory import linux_host, make_run

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def sample_html(sample_run, tmp_path_factory) -> Path:
    (path,) = render_reports(sample_run, ["html"], "en", tmp_path_factory.mktemp("html"))
    return path


SHOWN = """return Array.from(document.querySelectorAll('#findings-table tbody tr.finding-row'))
  .filter(row => row.getClientRects().length > 0)
  .map(row => ({status: row.dataset.status, req: row.dataset.req, target: row.dataset.target,
                text: row.innerText}));"""


def shown_rows(browser: WebDriver) -> list[dict[str, str]]:
    """The findings rows a reader sees (rendered, not hidden), in page order: status, requirements, target, text."""
    rows: list[dict[str, str]] = browser.execute_script(SHOWN)
    return rows


def findings(run: Path) -> list[dict[str, typing.Any]]:
    result: list[dict[str, typing.Any]] = json.loads((run / "results.json").read_text())["findings"]
    return result


def test_a_filter_shows_only_the_failures_of_one_requirement(browser, sample_html, sample_run):
    # Given the sample fleet's HTML report, opened from the file
    browser.get(sample_html.as_uri())
    everything = len(shown_rows(browser))
    assert everything == len(findings(sample_run))
    # When the reader picks requirement R12 and ticks "fail"
    Select(browser.find_element(By.ID, "f-req")).select_by_value("R12")
    browser.find_element(By.ID, "f-status-fail").click()
    # Then only R12's failures are shown, all of them, and the count says so
    rows = shown_rows(browser)
    expected = [f for f in findings(sample_run) if f["status"] == "fail" and "R12" in f["requirements"]]
    assert rows and len(rows) == len(expected)
    assert all(r["status"] == "fail" and "R12" in r["req"].split() for r in rows)
    assert browser.find_element(By.ID, "shown").text.startswith(f"Showing {len(expected)} of {everything}")
    # And the filter is in the address, so the view can be linked to
    assert browser.execute_script("return location.hash") == "#status=fail&req=R12"


def test_show_failures_of_a_requirement_and_of_a_target_from_their_sections(browser, sample_html, sample_run):
    browser.get(sample_html.as_uri())
    # When the reader clicks "Show failures" in R1's section
    browser.find_element(By.CSS_SELECTOR, 'button.show[data-req="R1"][data-status="fail"]').click()
    rows = shown_rows(browser)
    assert rows and all(r["status"] == "fail" and "R1" in r["req"].split() for r in rows)
    # And "Show its findings" of laptop-017 in the targets section
    browser.find_element(By.CSS_SELECTOR, 'button.show[data-target="laptop-017"]').click()
    rows = shown_rows(browser)
    assert len(rows) == len([f for f in findings(sample_run) if f["target"] == "laptop-017"])
    assert {r["target"] for r in rows} == {"laptop-017"}


def test_search_narrows_to_rows_holding_the_words_and_sort_orders_them(browser, sample_html):
    browser.get(sample_html.as_uri())
    # When the reader searches for a word of the findings
    search = browser.find_element(By.ID, "f-search")
    search.send_keys("BitLocker")
    rows = shown_rows(browser)
    # Then every row shown holds it (any case), and some rows are hidden
    assert rows and all("bitlocker" in r["text"].lower() for r in rows)
    assert len(rows) < len(browser.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr"))
    # When the reader clears the search and sorts by target, twice
    search.clear()
    browser.find_element(By.ID, "f-reset").click()
    heading = browser.find_element(By.CSS_SELECTOR, 'th[data-sort="target"]')
    heading.click()
    targets = [r["target"] for r in shown_rows(browser)]
    assert targets == sorted(targets, key=str.lower) and heading.get_attribute("aria-sort") == "ascending"
    heading.click()
    assert [r["target"] for r in shown_rows(browser)] == sorted(targets, key=str.lower, reverse=True)


def test_raw_evidence_is_collapsed_until_opened(browser, sample_html):
    browser.get(sample_html.as_uri())
    raw = browser.find_elements(By.CSS_SELECTOR, "details.raw")
    assert raw and not any(d.get_attribute("open") for d in raw)
    pre = raw[0].find_element(By.TAG_NAME, "pre")
    assert not pre.is_displayed()
    raw[0].find_element(By.TAG_NAME, "summary").click()
    assert pre.is_displayed() and pre.text.startswith("{")


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: typing.ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Silence."""


def test_hostile_content_stays_text_and_the_page_loads_nothing(browser, tmp_path):
    # Given a host whose output holds markup, a script and links to a server that records every request
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    hostile = (f'<script>window.pwned=1</script><img src="http://127.0.0.1:{port}/img">'
               f'<link rel="stylesheet" href="http://127.0.0.1:{port}/css">')
    run = make_run(tmp_path / "run", {"evil": linux_host("evil", timedatectl_stderr=hostile + "\n")})
    (html,) = render_reports(run, ["html"], "en", tmp_path / "out")
    try:
        # When the report is opened and filtered
        browser.get(html.as_uri())
        browser.find_element(By.ID, "f-search").send_keys("pwned")
        rows = shown_rows(browser)
    finally:
        server.shutdown()
        server.server_close()
    # Then the markup is shown as text, never run, and nothing was fetched
    assert rows and "<script>window.pwned=1</script>" in rows[0]["text"]
    assert browser.execute_script("return window.pwned") is None
    assert Recorder.requests == []
    # And the page forbids any load by policy; its own script and style are allowed by their hashes only
    policy = browser.find_element(By.CSS_SELECTOR, 'meta[http-equiv="Content-Security-Policy"]').get_attribute(
        "content") or ""
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy and "unsafe-inline" not in policy
