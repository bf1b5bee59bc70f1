"""End to end: a CPR corpus generated here, scanned by the CLI; no planted number may appear anywhere in the
run folder or the reports, every high-confidence number is found, no invalid date is reported."""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import subprocess
import zipfile
import zlib
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import run_cli

WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
JAN1_YEARS = (1960, 1965, 1970, 1984, 1995)


def _mod11(digits: str) -> bool:
    return sum(w * int(c) for w, c in zip(WEIGHTS, digits, strict=True)) % 11 == 0


def _number(rng: random.Random, born: date, check: bool) -> str:
    """A synthetic CPR number for a 20th-century birth date, with (or deliberately without) a valid check digit."""
    while True:
        serial = f"{rng.randint(0, 3)}{rng.randint(0, 999):03d}"  # 7th digit 0-3: 1900s for any year
        digits = born.strftime("%d%m%y") + serial
        if _mod11(digits) == check:
            return digits


class Corpus:
    """Planted numbers by kind, and the files holding them."""

    def __init__(self, root: Path) -> None:
        rng = random.Random(10)
        self.high: dict[str, int] = {}  # file name -> high-confidence numbers planted in it
        self.planted: list[str] = []
        self.invalid_dates: set[str] = set()

        def days(n: int) -> list[date]:
            return [date(rng.randint(1930, 1999), rng.randint(1, 12), rng.randint(2, 28)) for _ in range(n)]

        valid = [_number(rng, d, True) for d in days(40)]
        keyword = [_number(rng, d, False) for d in days(10)]
        jan1 = [_number(rng, date(y, 1, 1), False) for y in JAN1_YEARS]
        low = [_number(rng, d, False) for d in days(10)]
        invalid = ["3102851234", "2902791234", "3104601234", "0013701234", "3213601234"]  # 31 Feb, 29 Feb, ...
        invoices = ["2024051234", "4512345678", "9900112233", "1234567890"]  # no real date in the first six
        in_runs = ["INV-12" + valid[0] + "7", "tel 004522334455", valid[1] + "99"]  # inside longer digit runs
        self.planted = valid + keyword + jan1 + low + invalid + invoices
        self.invalid_dates = {n[:6] for n in invalid}

        def h(n: str) -> str:
            return f"{n[:6]}-{n[6:]}"

        lines = [f"{i};Navn {i};{h(n) if i % 2 else n};Aarhus" for i, n in enumerate(valid[2:22])]
        (root / "kunder.csv").write_text("id;navn;nummer;by\n" + "\n".join(lines) + "\n", encoding="utf-8")
        self.high["kunder.csv"] = 20
        latin = [f"Fødselsnummer: {keyword[0]}", f"CPR-nr. {h(keyword[1])}", f"personnummer {keyword[2]} æøå",
                 f"faktura {invoices[0]} tlf {invoices[1]}", f"ugyldig {invalid[0]} og {h(invalid[1])}"]
        (root / "breve.txt").write_bytes("\n".join(latin).encode("latin-1"))
        self.high["breve.txt"] = 3
        log = [f"2024-05-0{i % 9 + 1}T10:00:00 user={n} ok" for i, n in enumerate(valid[22:30])]
        log += [f"order {n} shipped" for n in invoices[2:] + low] + in_runs + [f"birth {n}" for n in jan1]
        log += [f"date {invalid[2]} {h(invalid[3])} {invalid[4]}", f"split {valid[30][:6]}-", valid[30][6:]]
        with gzip.open(root / "app.log.gz", "wt", encoding="utf-8") as f:
            f.write("\n".join(log) + "\n")
        self.high["app.log.gz"] = 8
        (root / "ok.json").write_text(json.dumps({"cpr": keyword[3], "id": 1}), encoding="utf-8")
        self.high["ok.json"] = 1
        # Word splits text into runs: a number across two runs of one paragraph is still one number.
        runs = f"<w:r><w:t>{valid[31][:4]}</w:t></w:r><w:r><w:t>{valid[31][4:]}</w:t></w:r>"
        with zipfile.ZipFile(root / "brev.docx", "w") as z:
            z.writestr("word/document.xml", f"<w:document><w:body><w:p>{runs}</w:p><w:p><w:r><w:t>"
                       f"{h(valid[32])}</w:t></w:r></w:p></w:body></w:document>")
        self.high["brev.docx"] = 2
        with zipfile.ZipFile(root / "liste.xlsx", "w") as z:
            z.writestr("xl/sharedStrings.xml", f"<sst><si><t>{valid[33]}</t></si><si><t>{keyword[4]}</t></si></sst>")
            z.writestr("xl/worksheets/sheet1.xml", f"<worksheet><row><c><v>{valid[34]}</v></c></row></worksheet>")
        self.high["liste.xlsx"] = 2
        (root / "image.bin").write_bytes(b"\x89PNG\0\0" + valid[35].encode() + bytes(range(256)))
        big = ("x" * 99 + "\n") * 25000 + valid[36] + "\n"  # 2.5 MB: over the 2 MB limit, skipped
        (root / "dump.sql").write_text(big, encoding="utf-8")
        (root / "near.txt").write_text(("y" * 99 + "\n") * 15000 + f"cpr {keyword[5]}\n" + valid[37] + "\n")
        self.high["near.txt"] = 2


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("pii-data")
    corpus = Corpus(root)
    profile = tmp_path_factory.mktemp("pii-profile") / "profile.yaml"
    profile.write_text(f"extends: default\nparameters:\n  pii_paths: {{workstation: [{root}], server: [{root}]}}\n"
                       "  pii_max_file_mb: 2\n  pii_bulk_threshold: 3\n  pii_fail_confidence: medium\n")
    run_dir = tmp_path_factory.mktemp("pii-run") / "run"
    result = run_cli("scan", "--profile", str(profile), "--check", "PII-0010", "--check", "PII-0020", "--out",
                     str(run_dir), "--format", "html,pdf,csv,json", "--no-history", "--quiet")
    assert result.returncode in (0, 1), result.stderr
    return corpus, run_dir


def _texts(run_dir: Path) -> dict[str, bytes]:
    """Every file of the run folder, plus each PDF's text and its inflated streams."""
    texts = {str(p): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    for pdf in run_dir.rglob("*.pdf"):
        data = pdf.read_bytes()
        for i, stream in enumerate(re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)):
            try:
                texts[f"{pdf}#stream{i}"] = zlib.decompress(stream)
            except zlib.error:
                continue
        if shutil.which("pdftotext"):
            texts[f"{pdf}#pdftotext"] = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                                       check=True).stdout
    return texts


def _finding(run_dir: Path, check_id: str) -> dict:
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return next(f for f in results["findings"] if f["check_id"] == check_id)


def test_no_planted_number_appears_anywhere_in_the_run_or_its_reports(scanned):
    corpus, run_dir = scanned
    texts = _texts(run_dir)
    assert any(name.endswith(".pdf") for name in texts) and any(name.endswith(".csv") for name in texts)
    for number in corpus.planted:
        for form in (number, f"{number[:6]}-{number[6:]}"):
            leaked = [name for name, data in texts.items() if form.encode() in data]
            assert not leaked, f"{form[:6]}... found in {leaked}"


def test_every_high_confidence_number_is_found_and_no_invalid_date_reported(scanned):
    corpus, run_dir = scanned
    finding = _finding(run_dir, "PII-0010")
    assert finding["status"] == "fail"
    high = {Path(f["path"]).name: f["high"] for f in finding["observed"]["files"]}
    assert {name: high.get(name, 0) for name in corpus.high} == corpus.high
    samples = [s["masked"][:6] for f in finding["observed"]["files"] for s in f["samples"]]
    assert samples and not corpus.invalid_dates & set(samples)
    folder = next(iter(finding["observed"]["folders"].values()))
    # Rejected: 31 Feb, 29 Feb 1979, 31 Apr; day 00 and month 13 never match the pattern at all.
    assert folder["skipped_binary"] == 1 and folder["skipped_large"] == 1 and folder["rejected_dates"] == 3
    assert "dump.sql" not in high and "image.bin" not in high


def test_one_january_numbers_without_check_digit_are_medium(scanned):
    _, run_dir = scanned
    files = {Path(f["path"]).name: f for f in _finding(run_dir, "PII-0010")["observed"]["files"]}
    assert files["app.log.gz"]["medium"] == len(JAN1_YEARS)
    assert files["app.log.gz"]["low"] == 10  # the date-only numbers; split, invoice and embedded ones not at all


def test_bulk_check_counts_but_does_not_fail_small_files(scanned):
    _, run_dir = scanned
    finding = _finding(run_dir, "PII-0020")
    assert finding["status"] == "pass" and "No file holds more than 3" in finding["message"]
