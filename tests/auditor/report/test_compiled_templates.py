"""The report's templates are compiled once and kept in their folder's __pycache__, never at the cost of a report."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import jinja2
import pytest

from auditor.profile import load_profile
from auditor.report import to_html
from auditor.report.view import ReportView, build_view
from tests.report_factory import linux_host, make_run


@pytest.fixture(scope="module")
def view(tmp_path_factory) -> ReportView:
    folder = tmp_path_factory.mktemp("compiled")
    return build_view(make_run(folder / "run", {"web-01": linux_host("web-01")}, load_profile(None)))


@pytest.fixture
def templates(tmp_path) -> Path:
    """A copy of the shipped templates: the tests write its cache and edit it."""
    folder = tmp_path / "templates"
    shutil.copytree(to_html.TEMPLATES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """The names of the templates jinja2 compiles from source, in every new environment (as a new process)."""
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    to_html.environment.cache_clear()
    yield compiled
    to_html.environment.cache_clear()


def render(view: ReportView, templates: Path) -> str:
    to_html.environment.cache_clear()  # what a new process starts with
    return to_html.render_html(view, "en", templates_dir=templates)


def test_a_second_report_loads_the_templates_compiled_and_renders_the_same(view, templates, compiles, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    first = render(view, templates)
    assert "report.html.j2" in compiles and list((templates / "__pycache__").glob("*.jinja2"))
    compiles.clear()
    assert render(view, templates) == first
    assert compiles == []


def test_an_edited_template_is_compiled_again_and_its_text_shown(view, templates, compiles, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    render(view, templates)
    page = templates / "report.html.j2"
    page.write_text(page.read_text().replace("<body", "<!-- edited after compiling --><body", 1))
    compiles.clear()
    assert "<!-- edited after compiling -->" in render(view, templates)
    assert compiles == ["report.html.j2"]


def test_a_damaged_cache_entry_is_compiled_again_never_an_error(view, templates, compiles, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    first = render(view, templates)
    entries = sorted((templates / "__pycache__").glob("*.jinja2"))
    for number, entry in enumerate(entries):  # a truncated entry, a foreign one, an empty one
        data = entry.read_bytes()
        entry.write_bytes((data[:len(data) // 2], b"not a compiled template" * 40, b"")[number % 3])
    compiles.clear()
    assert render(view, templates) == first
    assert len(compiles) == len(entries)


def test_a_folder_that_cannot_hold_the_cache_only_means_compiling(view, templates, compiles, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    (templates / "__pycache__").write_text("a file where the cache folder would be")  # as a read-only install
    first = render(view, templates)
    assert render(view, templates) == first
    assert compiles.count("report.html.j2") == 2


def test_python_dont_write_bytecode_writes_no_cache_but_setup_compiles_them(view, templates, compiles, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    render(view, templates)
    assert not (templates / "__pycache__").exists()
    assert set(to_html.compile_templates(templates)) >= {"report.html.j2", "_macros.html.j2"}
    compiles.clear()
    render(view, templates)
    assert compiles == []
