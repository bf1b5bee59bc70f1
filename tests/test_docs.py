"""The docs stay true: generated tables equal what their commands print, the README's Quick start is the two
commands, and every relative link of the README and docs/ points at a file of the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

README = ROOT / "README.md"
DOCS = ROOT / "docs"
CHECKS_DOC = DOCS / "checks.md"
GENERATED = re.compile(r"<!-- generated: (?P<command>[^\n]+?) -->\n(?P<body>.*?)<!-- end generated -->", re.DOTALL)
FENCE = re.compile(r"^```[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(?P<target>\S+)", re.MULTILINE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:


def _generated_blocks() -> dict[str, str]:
    return {m["command"]: m["body"] for m in GENERATED.finditer(CHECKS_DOC.read_text(encoding="utf-8"))}


def _section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}[ \t]*\n(?P<body>.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    assert match, f"README.md has no '## {heading}' section"
    return match["body"]


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(m[1]) for m in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t]*$", text, re.MULTILINE)}


def _links(page: Path) -> list[str]:
    """Every link target of a Markdown page outside its code blocks."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link either
    return [m["target"] for m in (*INLINE_LINK.finditer(text), *REFERENCE_LINK.finditer(text))]


PAGES = [README, *sorted(DOCS.glob("*.md"))]


def test_checks_doc_holds_both_generated_tables():
    """docs/checks.md has the checks list and the traceability matrix, each between its markers."""
    assert set(_generated_blocks()) == {"auditor checks list --format markdown", "auditor profile show --markdown"}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(_generated_blocks()))
def test_generated_block_is_what_its_command_prints(command):
    # Given a generated block of docs/checks.md
    body = _generated_blocks()[command]
    # When its command runs through the CLI
    result = run_cli(*shlex.split(command)[1:])
    # Then the block is exactly what it printed
    assert result.returncode == 0, result.stderr
    assert body == result.stdout, (
        f"docs/checks.md is out of date: regenerate the block between '<!-- generated: {command} -->' and "
        f"'<!-- end generated -->' with `.venv/bin/{command}`"
    )


def test_quick_start_is_exactly_make_scan_and_make_test():
    """The README's Quick start has one code block, and it holds `make scan` and `make test`, nothing else."""
    blocks = [m["body"] for m in FENCE.finditer(_section(README.read_text(encoding="utf-8"), "Quick start"))]
    assert len(blocks) == 1, f"Quick start should have one code block, found {len(blocks)}"
    assert [line.strip() for line in blocks[0].splitlines() if line.strip()] == ["make scan", "make test"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_at_a_file_of_the_repository(page):
    # Given every link of a page that is not a web or mail address
    links = [t for t in _links(page) if not EXTERNAL.match(t)]
    problems = []
    for link in links:
        path, _, anchor = link.partition("#")
        # When it is resolved from the page's folder (a bare #anchor names the page itself)
        target = (page.parent / path).resolve() if path else page
        # Then it stays inside the repository, names an existing file, and its anchor is a heading there
        if not target.is_relative_to(ROOT):
            problems.append(f"{link}: outside the repository")
        elif not target.exists():
            problems.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            problems.append(f"{link}: no heading '#{anchor}' in {target.relative_to(ROOT)}")
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)


def test_readme_names_no_path_of_this_machine():
    """The README points at nothing outside the repository: no absolute path of the checkout, no ../ links."""
    text = README.read_text(encoding="utf-8")
    assert str(ROOT) not in text and str(ROOT.parent) + "/" not in text
    assert not [t for t in _links(README) if t.startswith(("/", "../"))]
