"""Benchmark: seal and open a 1 GB run folder, beside `openssl enc -aes-256-ctr` over the same bytes.

Prints MB/s and peak RSS of each, in the same run. Targets: at least 300 MB/s, RSS under 100 MB.

    .venv/bin/python bench/seal.py [--megabytes 1024]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure, table

AUDITOR = [sys.executable, "-m", "auditor"]
RECORDED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hosts" / "debian12-server"


def make_run(folder: Path, megabytes: int) -> int:
    """A run folder of `megabytes` MB: evidence files of 64 MB of incompressible bytes each."""
    (folder / "evidence" / "host").mkdir(parents=True)
    shutil.copy(RECORDED / "results.json", folder / "results.json")  # a real run's results, for `seal`
    block = os.urandom(1 << 20)
    for index in range(megabytes // 64):
        with open(folder / "evidence" / "host" / f"cmd-{index}.json", "wb") as handle:
            for step in range(64):
                handle.write(block[step:] + block[:step])
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as scratch:
        root = Path(scratch)
        env = {"AUDITOR_KEY_PASSPHRASE": "bench", "XDG_CONFIG_HOME": str(root / "cfg"),
               "XDG_DATA_HOME": str(root / "data")}
        os.environ.update(env)
        measure([*AUDITOR, "keys", "init", "--dir", str(root / "keys")])
        size = make_run(root / "run", args.megabytes)
        mb = size / 1e6
        sealed = measure([*AUDITOR, "seal", str(root / "run"), "--to", str(root / "keys" / "seal.pub"),
                          "--out", str(root / "run.bundle")])
        opened = measure([*AUDITOR, "open", str(root / "run.bundle"), "--key", str(root / "keys" / "seal.key"),
                          "--out", str(root / "opened")])
        with tarfile.open(root / "run.tar", "w") as archive:  # the same bytes, for the raw-cipher reference
            archive.add(root / "run", arcname=".")
        openssl = measure(["openssl", "enc", "-aes-256-ctr", "-pbkdf2", "-pass", "pass:bench", "-in",
                           str(root / "run.tar"), "-out", str(root / "run.tar.enc")])
        rows = [("step", "MB", "seconds", "MB/s", "peak RSS MB", "exit")]
        for name, sample in (("auditor seal (AES-256-GCM)", sealed), ("auditor open + verify", opened),
                             ("openssl enc -aes-256-ctr", openssl)):
            rows.append((name, f"{mb:.0f}", f"{sample.seconds:.2f}", f"{mb / sample.seconds:.0f}",
                         f"{sample.peak_rss_mb:.0f}", str(sample.exit_status)))
        print(table(rows))
        print(f"\nseal / openssl time ratio: {sealed.seconds / openssl.seconds:.2f}x; targets: >= 300 MB/s and "
              f"< 100 MB RSS -> {'met' if mb / sealed.seconds >= 300 and sealed.peak_rss_mb < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
