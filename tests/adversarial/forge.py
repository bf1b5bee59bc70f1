"""What the adversarial tests share: the processor's keys, signed runs, and what a forger does to a run folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from auditor.bundle.keys import KeyPaths, init_keys, load_private, read_public
from auditor.bundle.manifest import write_run_manifest
from tests.conftest import ROOT, child_env

PASSPHRASE = "correct horse battery staple"
SECRET = {"AUDITOR_KEY_PASSPHRASE": PASSPHRASE}


def processor_keys(config: Path) -> KeyPaths:
    """The processor's keys in the key folder of XDG_CONFIG_HOME=config: 'the signing key present'."""
    folder = config / "auditor" / "keys"
    init_keys(folder, PASSPHRASE.encode())
    return KeyPaths(folder)


def public(keys: KeyPaths) -> bytes:
    return read_public(keys.signing_pub, "ed25519")


def signer(keys: KeyPaths) -> object:
    return load_private(keys.signing_key, PASSPHRASE.encode())


def copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


def rehash(run: Path, signed_by: KeyPaths | None = None) -> None:
    """What a forger does after an edit: rehash the evidence index and write a fresh run manifest, unsigned
    (manifest.sig deleted, no signing_key field) or signed with another key."""
    index = run / "evidence" / "manifest.json"
    document = json.loads(index.read_text())
    for fact in document["facts"]:
        path = run / fact["path"]
        if path.is_file():
            fact["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    index.write_text(json.dumps(document, indent=2))
    (run / "manifest.json").unlink(missing_ok=True)
    (run / "manifest.sig").unlink(missing_ok=True)
    run_id = json.loads((run / "results.json").read_text())["run"]["id"]
    write_run_manifest(run, run_id, signer(signed_by) if signed_by else None)  # type: ignore[arg-type]


def index_record(run: Path, path: Path, record: dict) -> None:
    """List a forged record in the evidence index, as the evidence store would have."""
    index = run / "evidence" / "manifest.json"
    document = json.loads(index.read_text())
    document["facts"].append({"path": path.relative_to(run).as_posix(), "sha256": "", "target": record["target"],
                              "kind": record["kind"], "source": record["source"],
                              "exit_status": record.get("exit_status"), "collected_at": record["collected_at"]})
    index.write_text(json.dumps(document, indent=2))


def auditor(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed command line, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True, cwd=ROOT,
                          env=child_env(env), timeout=timeout, check=False)


def killed_at(path: Path, argv: Sequence[str], env: dict[str, str]) -> int:
    """Run the CLI and SIGKILL it just before `path` is renamed into place (tests/adversarial/killpoint.py)."""
    done = subprocess.run([sys.executable, "-m", "tests.adversarial.killpoint", str(path), *argv], cwd=ROOT,
                          env=child_env(env), capture_output=True, timeout=120, check=False)
    return done.returncode


def killed_when(ready: object, argv: Sequence[str], env: dict[str, str], budget: float = 60) -> int:
    """Run the CLI and SIGKILL it as soon as `ready()` is true (polled every millisecond); its return code."""
    proc = subprocess.Popen([sys.executable, "-m", "auditor", *argv], cwd=ROOT, env=child_env(env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + budget
    while not ready() and proc.poll() is None and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.001)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    return proc.wait()
