"""Benchmark: seal a signed run folder of about 1 GB and open it again (decrypt, then verify every hash and the
signature), beside `openssl enc -aes-256-ctr` over the same bytes, in the same run.

    .venv/bin/python bench/seal.py [--megabytes 1024] [--runs 1]

The run folder is a recorded host's results.json plus incompressible evidence files, finished as a scan
finishes it (run manifest signed with a fresh signing key). Prints MB/s (min / median / max) and peak RSS of
`auditor seal`, `auditor open --pubkey` (which restores the folder and verifies it) and openssl. Goals: at
least 300 MB/s for seal, peak RSS under 100 MB. A step that does not succeed (a non-zero exit, or an opened
folder whose files differ from the sealed one) stops the benchmark.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Sample, auditor_script, measure, spread, table

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "fixtures" / "hosts" / "debian12-server"
PASSPHRASE = "bench-passphrase"


def make_run(folder: Path, megabytes: int, keys: Path) -> int:
    """A finished, signed run folder of `megabytes` MB: evidence files of 64 MB of incompressible bytes each."""
    sys.path.insert(0, str(ROOT))
    from auditor.bundle.keys import load_private
    from auditor.bundle.manifest import write_run_manifest

    (folder / "evidence" / "host").mkdir(parents=True)
    shutil.copy(RECORDED / "results.json", folder / "results.json")  # a real run's results, for `seal`
    block = os.urandom(1 << 20)
    for index in range(max(1, megabytes // 64)):
        with open(folder / "evidence" / "host" / f"cmd-{index}.json", "wb") as handle:
            for step in range(64):
                handle.write(block[step:] + block[:step])
    write_run_manifest(folder, "bench", load_private(keys / "signing.key", PASSPHRASE.encode()))
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def same_tree(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and all(
        filecmp.cmp(a / f, b / f, shallow=False) for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024, help="size of the run folder (default 1024)")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each step (default 1)")
    args = parser.parse_args()
    auditor = auditor_script()
    samples: dict[str, list[Sample]] = {"auditor seal": [], "auditor open --pubkey (restore + verify)": [],
                                        "openssl enc -aes-256-ctr": []}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as scratch:
        root = Path(scratch)
        os.environ.update({"AUDITOR_KEY_PASSPHRASE": PASSPHRASE, "XDG_CONFIG_HOME": str(root / "cfg"),
                           "XDG_DATA_HOME": str(root / "data")})
        if measure([auditor, "keys", "init", "--dir", str(root / "keys")]).exit_status != 0:
            raise SystemExit("bench: `auditor keys init` failed")
        size = make_run(root / "run", args.megabytes, root / "keys")
        with tarfile.open(root / "run.tar", "w") as archive:  # the same bytes, for the raw-cipher reference
            archive.add(root / "run", arcname=".")
        for index in range(args.runs):
            bundle, opened = root / f"run{index}.bundle", root / f"opened{index}"
            steps = {
                "auditor seal": [auditor, "seal", str(root / "run"), "--to", str(root / "keys" / "seal.pub"),
                                 "--out", str(bundle)],
                "auditor open --pubkey (restore + verify)": [
                    auditor, "open", str(bundle), "--key", str(root / "keys" / "seal.key"), "--out", str(opened),
                    "--pubkey", str(root / "keys" / "signing.pub")],
                "openssl enc -aes-256-ctr": ["openssl", "enc", "-aes-256-ctr", "-pbkdf2", "-pass", "pass:bench",
                                             "-in", str(root / "run.tar"), "-out", str(root / "run.tar.enc")],
            }
            for name, argv in steps.items():
                sample = measure(argv)
                if sample.exit_status != 0:
                    raise SystemExit(f"bench: `{name}` exited {sample.exit_status}: {' '.join(argv)}")
                samples[name].append(sample)
            if not same_tree(root / "run", opened):
                raise SystemExit("bench: the opened folder differs from the sealed one")
            bundle.unlink()
            shutil.rmtree(opened)
    mb = size / 1e6
    rows = [("step", "MB", "MB/s (min / median / max)", "peak RSS MB")]
    for name, runs in samples.items():
        rows.append((name, f"{mb:.0f}", spread([mb / s.seconds for s in runs], "{:.0f}"),
                     f"{max(s.peak_rss_mb for s in runs):.0f}"))
    print(table(rows))
    seal_rate = statistics.median(mb / s.seconds for s in samples["auditor seal"])
    rss = max(s.peak_rss_mb for s in samples["auditor seal"])
    print(f"\nseal: {seal_rate:.0f} MB/s, {rss:.0f} MB peak RSS; goals >= 300 MB/s and < 100 MB -> "
          f"{'met' if seal_rate >= 300 and rss < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
