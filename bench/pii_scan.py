"""Benchmark: auditor's PII search (the `pii` collector through LocalTransport) beside ripgrep searching the same
candidate pattern over the same generated corpus, in the same run; peak RSS; precision and recall.

The corpus (default 1 GB) is mixed CSV exports, logs, JSON and prose, a share of it gzip-compressed, with
planted synthetic CPR numbers: valid (modulus 11), 1 January numbers without a check digit, date-only numbers,
invalid dates and 10-digit invoice numbers. ripgrep runs with -z (it reads the gzip files too) and only counts.
Targets: auditor within 2x of ripgrep's wall time, under 200 MB peak RSS (largest single process: wait4).

    .venv/bin/python bench/pii_scan.py [--megabytes 1024] [--runs 1]     (BENCH_TMP: where the corpus goes)
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import Sample, ensure_debian_package, measure, table

from auditor.collectors.pii import GREP_PATTERN

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
JAN1 = (1960, 1962, 1965, 1970, 1975, 1980, 1985, 1990, 1995)
FILE_BYTES = 4 << 20
COLLECT = """
import json, sys
from auditor.collectors.pii import collect
from auditor.models import Platform, SystemFacts
from auditor.transports.local import LocalTransport
facts = collect(LocalTransport(), SystemFacts(Platform.LINUX), pii_paths={"server": [sys.argv[1]]})
json.dump({"method": facts.method, "problem": facts.problem, "files": [
    {"high": f.high, "medium": f.medium, "low": f.low, "dates": [s.masked[:6] for s in f.samples]}
    for f in facts.files]}, open(sys.argv[2], "w"))
"""


def _mod11(digits: str) -> bool:
    return sum(w * int(c) for w, c in zip(WEIGHTS, digits, strict=True)) % 11 == 0


def _cpr(rng: random.Random, born: date, check: bool) -> str:
    while True:
        digits = born.strftime("%d%m%y") + f"{rng.randint(0, 3)}{rng.randint(0, 999):03d}"
        if _mod11(digits) == check:
            return digits


def _filler(rng: random.Random, kind: str, size: int) -> list[str]:
    """Lines without CPR candidates: 8-digit phone numbers, order ids, ISO dates, amounts, prose."""
    lines, total = [], 0
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "kunde", "ordre", "faktura", "levering", "betaling", "konto",
             "adresse", "vej", "by"]
    while total < size:
        if kind == "csv":
            line = (f"{rng.randint(1, 10**6)};{rng.choice(words).title()} {rng.choice(words).title()};"
                    f"+45 {rng.randint(20000000, 99999999)};{rng.randint(1000, 9999)};{rng.random() * 9999:.2f}")
        elif kind == "log":
            line = (f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:10:01Z app"
                    f"[{rng.randint(100, 99999)}]: order={rng.randint(10**5, 10**8)} ok ms={rng.randint(1, 999)}")
        elif kind == "json":
            line = json.dumps({"id": rng.randint(1, 10**9), "name": rng.choice(words),
                               "amount": rng.randint(1, 10**5), "ts": f"2024-0{rng.randint(1, 9)}-15"})
        else:
            line = " ".join(rng.choice(words) for _ in range(14)) + "."
        lines.append(line)
        total += len(line) + 1
    return lines


def generate(root: Path, megabytes: int, rng: random.Random) -> dict[str, int]:
    """Write the corpus; returns how many numbers of each kind were planted."""
    planted = {"high": 0, "medium": 0, "low": 0, "invalid": 0, "invoice": 0}
    blocks = {kind: _filler(rng, kind, FILE_BYTES) for kind in ("csv", "log", "json", "txt")}
    for i in range(max(1, (megabytes << 20) // FILE_BYTES)):
        kind = ("csv", "log", "json", "txt")[i % 4]
        lines = list(blocks[kind])
        for _ in range(20):
            born = date(rng.randint(1935, 2005), rng.randint(1, 12), rng.randint(2, 28))
            choice = rng.random()
            if choice < 0.5:
                number, what = _cpr(rng, born, True), "high"
            elif choice < 0.6:
                number, what = _cpr(rng, date(rng.choice(JAN1), 1, 1), False), "medium"
            elif choice < 0.8:
                number, what = _cpr(rng, born, False), "low"
            elif choice < 0.9:
                number, what = f"3102{rng.randint(60, 99)}{rng.randint(0, 3)}{rng.randint(0, 999):03d}", "invalid"
            else:
                number, what = f"{rng.randint(40, 99)}{rng.randint(13, 99)}{rng.randint(0, 999999):06d}", "invoice"
            shown = f"{number[:6]}-{number[6:]}" if rng.random() < 0.5 else number
            lines[rng.randrange(len(lines))] += f" ref {shown}"
            planted[what] += 1
        data = ("\n".join(lines) + "\n").encode()
        folder = root / f"d{i % 16:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 8 == 7:
            (folder / f"f{i:05d}.{kind}.gz").write_bytes(gzip.compress(data, 1))
        else:
            (folder / f"f{i:05d}.{kind}").write_bytes(data)
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:  # in a child, so the measuring parent stays small (ru_maxrss survives fork + exec)
        print(json.dumps(generate(Path(args.generate), args.megabytes, random.Random(20))))
        return
    have_rg = ensure_debian_package("rg", "ripgrep")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as scratch:
        corpus = Path(scratch) / "corpus"
        planted = json.loads(subprocess.run([sys.executable, __file__, "--megabytes", str(args.megabytes),
                                             "--generate", str(corpus)], capture_output=True, text=True,
                                            check=True).stdout)
        size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
        print(f"corpus: {size / (1 << 20):.0f} MB on disk in {sum(1 for _ in corpus.rglob('*.*'))} files; planted "
              + ", ".join(f"{k} {v}" for k, v in planted.items()))
        out = Path(scratch) / "facts.json"
        ours: list[Sample] = []
        theirs: list[Sample] = []
        for _ in range(args.runs):
            if have_rg:
                theirs.append(measure(["rg", "-c", "-uuu", "-z", "-e", GREP_PATTERN, str(corpus)]))
            ours.append(measure([sys.executable, "-c", COLLECT, str(corpus), str(out)], cwd=ROOT))
        facts = json.loads(out.read_text())
        found = {c: sum(f[c] for f in facts["files"]) for c in ("high", "medium", "low")}
        invalid_shown = sum(1 for f in facts["files"] for d in f["dates"] if d.startswith("3102"))
        reported = found["high"] + found["medium"]
        true_positive = min(found["high"], planted["high"]) + min(found["medium"], planted["medium"])
        rows = [("tool", "wall s (median)", "peak RSS MB", "MB/s")]
        for name, samples in (("auditor pii", ours), ("ripgrep -z", theirs)):
            if samples:
                wall = statistics.median(s.seconds for s in samples)
                rows.append((name, f"{wall:.2f}", f"{max(s.peak_rss_mb for s in samples):.0f}",
                             f"{size / (1 << 20) / wall:.0f}"))
        print(table(rows))
        if theirs:
            ratio = statistics.median(s.seconds for s in ours) / statistics.median(s.seconds for s in theirs)
            print(f"auditor / ripgrep wall time: {ratio:.2f}x (target <= 2x)")
        print(f"method: {facts['method'] or facts['problem']}; found high {found['high']}/{planted['high']} "
              f"(recall {found['high'] / max(planted['high'], 1):.0%}), medium {found['medium']}/{planted['medium']}, "
              f"low {found['low']}/{planted['low']}; precision at medium and above "
              f"{true_positive / max(reported, 1):.0%}; invalid dates reported: {invalid_shown} "
              f"(samples), invoice numbers planted {planted['invoice']}")
        if os.environ.get("BENCH_KEEP"):
            shutil.copytree(corpus, os.environ["BENCH_KEEP"])


if __name__ == "__main__":
    main()
