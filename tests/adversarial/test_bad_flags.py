"""Bad flags, as a careless user (or a broken script) gives them to the installed `auditor`: unwritable output
folders and history, `--keep` with no reports folder, empty paths, negative numbers, abbreviated or misspelt flags
and commands, missing key files, a YAML file where a bundle is meant, end of input or Ctrl-C at the passphrase
prompt. Each is refused in ONE line on stderr with exit 2 (130 for Ctrl-C), no traceback, before any scan, and
nothing is left behind."""

from __future__ import annotations

import argparse
import base64
import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.bundle.keys import PASSPHRASE_ENV
from auditor.cli import build_parser, main
from tests.adversarial.forge import processor_keys
from tests.conftest import HOSTS, child_env

pytestmark = [pytest.mark.slow, pytest.mark.attack("bad input: flags")]
AUDITOR = str(Path(sys.executable).with_name("auditor"))  # the installed command, as a user runs it
HOST = str(HOSTS / "debian12-server")  # a recorded host: `replay` needs no network, and here never starts
QUIET = ("--format", "none", "--quiet")
A_SEAL_KEY = "auditor-x25519 " + base64.b64encode(bytes(range(32))).decode()  # well-formed, given as text


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Path]:
    """The user's folder: a file where folders are named, a YAML file, an empty folder; nothing else."""
    work = tmp_path / "work"
    (work / "folder").mkdir(parents=True)
    (work / "afile").write_text("a file, not a folder\n")
    (work / "notes.yaml").write_text("hosts: [a, b]\n")
    yield work


def _env(work: Path, **extra: str) -> dict[str, str]:
    """Audit log, history and keys outside the user's folder, and no passphrase at hand unless given."""
    env = child_env({"XDG_DATA_HOME": str(work.parent / "data"), "XDG_CONFIG_HOME": str(work.parent / "config"),
                     **extra})
    env.pop("AUDITOR_HISTORY", None)
    if PASSPHRASE_ENV not in extra:
        env.pop(PASSPHRASE_ENV, None)
    return env


def auditor(work: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AUDITOR, *args], cwd=work, env=_env(work, **extra), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, check=False)


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_refused(result: subprocess.CompletedProcess[str], words: str, code: int = 2) -> None:
    """One line on stderr naming the problem, the exit code, no traceback, nothing on stdout."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert result.stderr.startswith("auditor: ") and "Traceback" not in result.stderr
    assert words in result.stderr, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("flags", "words"), [
    (["--out", "afile/run"], "--out afile/run: cannot be created: afile is not a folder"),
    (["--out", "afile"], "--out afile: exists and is not a folder"),
    (["--out", "/sys/auditor-run"], "--out /sys/auditor-run: cannot be written"),  # read-only, even for root
    (["--reports-dir", "afile/reports"], "--reports-dir afile/reports: cannot be created"),
    (["--out", "run", "--history", "afile/history.sqlite"], "--history afile/history.sqlite: cannot be created"),
    (["--out", "run", "--history", "notes.yaml"], "--history notes.yaml: is not a usable history database"),
    (["--out", "run", "--history", "folder"], "--history folder: is a folder"),
    (["--out", "run", "--keep", "2", "--reports-dir", "nothere"], "--keep: prunes old run folders in --reports-dir "
                                                                    "nothere, which does not exist"),
])
def test_an_output_that_cannot_be_written_is_refused_before_the_scan(work, flags, words):
    # Given a user's folder, and a run asked to write where it cannot
    before = _tree(work)
    # When the run starts
    result = auditor(work, "replay", HOST, *QUIET, *flags)
    # Then it is refused in one line before anything is scanned, and nothing was created (no unfinished run folder)
    assert_refused(result, words)
    assert _tree(work) == before


def test_the_same_outputs_when_writable_still_make_a_run(work):
    # Given writable folders, a history to start and --keep over the reports folder the run lands in
    result = auditor(work, "replay", HOST, *QUIET, "--check", "LOG-0020", "--reports-dir", "reports",
                     "--keep", "1", "--history", "history.sqlite")
    # Then the run is made, recorded and pruned to one folder: the checks above refuse only what cannot work
    assert result.returncode in (0, 1), result.stderr
    assert (work / "history.sqlite").is_file() and len(list((work / "reports").iterdir())) == 1


@pytest.mark.parametrize(("args", "words"), [
    (["scan", "--inventory", ""], "argument --inventory: an empty value is not allowed"),  # was: scan this machine
    (["scan", "--out", ""], "argument --out: an empty value is not allowed"),
    (["verify", ""], "argument RUN_DIR|BUNDLE: an empty value is not allowed"),  # was: verify the current folder
    (["scan", "--keep", "-1"], "argument --keep: must be a whole number, 0 or more, got '-1'"),
    (["replay", HOST, "--keep", "-1"], "argument --keep: must be a whole number, 0 or more"),
    (["scan", "--zone-timeout", "-5"], "argument --zone-timeout: must be a number of seconds above 0"),
    (["scan", "--zone-timeout", "nan"], "argument --zone-timeout: must be a number of seconds above 0"),
    (["schedule", "--keep", "0", "--cron"], "--keep must be at least 1"),
    (["worker", "--broker", "redis://127.0.0.1:1", "--zone", "dmz", "--concurrency", "0"],
     "--concurrency: must be at least 1, got 0"),
    (["scan", "--hom"], "unrecognized arguments: --hom; did you mean --home? (see `auditor scan --help`)"),
    (["replay", HOST, "--allow-unsign"], "did you mean --allow-unsigned?"),
    (["scna"], "unknown command 'scna' for `auditor`; did you mean scan?"),
    (["checks", "lst"], "unknown command 'lst' for `auditor checks`; did you mean list?"),
    (["scan", "--role", "sever"], "argument --role: invalid choice 'sever'; did you mean server?"),
    (["scan", "--seal-to", "missing.pub"], "--seal-to missing.pub: no such file"),  # was: "not an x25519 key"
    (["scan", "--seal-to", "folder"], "--seal-to folder: is a folder, not a file"),
    (["replay", HOST, "--pubkey", "missing.pub"], "missing.pub: no such file"),
    (["verify", "folder", "--pubkey", "missing.pub"], "missing.pub: no such file"),
    (["scan", "--sign-key", "folder"], "--sign-key folder: is a folder, not a file"),
    (["scan", "--broker-ca", "missing.pem"], "--broker-ca missing.pem: no such file"),
    (["open", "notes.yaml"], "notes.yaml: is not an auditor sealed bundle"),  # was: exit 3
    (["open", "folder"], "folder: is a folder, not a sealed bundle"),
    (["verify", "notes.yaml"], "notes.yaml: is not an auditor sealed bundle"),
    (["open", "notes.yaml", "--key", "folder"], "notes.yaml: is not an auditor sealed bundle"),
    (["keys", "init", "--dir", "afile/keys"], "--dir afile/keys: cannot be created: afile is not a folder"),
    (["report", HOST, "--out", "afile/report"], "afile/report: cannot be created"),
    (["seal", HOST, "--to", A_SEAL_KEY, "--out", "afile/run.auditor-bundle"], "--out afile/run.auditor-bundle"),
    (["seal", HOST, "--to", A_SEAL_KEY, "--out", "folder"], "--out folder: is a folder; a bundle is one file"),
    (["seal", HOST, "--to", "missing.pub"], "missing.pub: no such file"),
    (["history", "--history", "folder"], "folder: is a folder, not a history database"),
    (["history", "--history", "notes.yaml"], "notes.yaml: is not a usable history database"),
    (["log", "verify", "--history", "notes.yaml"], "notes.yaml: is not a usable history database"),
    (["schedule", "--inventory", "missing.yaml", "--cron"], "--inventory missing.yaml: no such file"),
    (["schedule", "--unit-dir", "afile/units"], "--unit-dir afile/units: cannot be created"),
    (["kit", "build", "--seal-to", A_SEAL_KEY, "--out", "afile/kit"], "--out afile/kit: cannot be created"),
    (["keys", "init", "--dir", "keys"], f"a passphrase is needed to protect the new private keys; set "
                                        f"{PASSPHRASE_ENV}"),  # no terminal, no variable: no prompt that hangs
])
def test_a_bad_flag_is_one_line_and_exit_2(work, args, words):
    # Given a user's folder; when a command gets a bad flag value
    before = _tree(work)
    result = auditor(work, *args)
    # Then one line names the flag, the problem and the fix; exit 2; nothing was written in the folder
    assert_refused(result, words)
    assert _tree(work) == before


def _value_flags() -> dict[str, list[str]]:
    """Every flag that takes a value, per (sub)command, read from the parser itself: new flags join the sweep."""
    found: dict[str, list[str]] = {}

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif action.option_strings and action.nargs != 0:
                found.setdefault(" ".join(path), []).append(action.option_strings[0])

    walk(build_parser(), [])
    return found


VALUE_FLAGS = _value_flags()


@pytest.mark.parametrize("command", sorted(VALUE_FLAGS))
def test_no_flag_of_any_command_takes_an_empty_value(capsys, command):
    # Given every flag of this command that takes a value (the parser lists them: a new flag joins the sweep)
    for flag in VALUE_FLAGS[command]:
        # When it is given an empty value, as an unset shell variable gives one (parsed in this process, by the
        # same parser the installed command uses: 75 flags in a subprocess each would take half a minute)
        with pytest.raises(SystemExit) as refused:
            main([*command.split(), flag, ""])
        # Then it is refused in one line naming that flag, exit 2, before any command runs
        err = capsys.readouterr().err
        assert refused.value.code == 2 and err.count("\n") == 1, (flag, err)
        assert err.startswith(f"auditor: argument {flag}: an empty value is not allowed"), err


@pytest.mark.parametrize(("args", "flag"), [
    (["scan"], "--workers"), (["scan"], "--keep"), (["scan"], "--zone-timeout"), (["replay", HOST], "--workers"),
    (["schedule", "--cron"], "--keep"),
    (["worker", "--broker", "redis://127.0.0.1:1", "--zone", "dmz"], "--max-payload"),
    (["worker", "--broker", "redis://127.0.0.1:1", "--zone", "dmz"], "--redeliver-after"),
])
def test_a_negative_number_is_refused_where_a_count_or_time_is_meant(work, args, flag):
    result = auditor(work, *args, flag, "-1")
    assert_refused(result, flag)


def _at_the_prompt(work: Path, key: bytes, *args: str) -> tuple[subprocess.CompletedProcess[str], bytes]:
    """Run the command on a terminal of its own (a pty as its controlling terminal, as a login gives); when it
    asks for the passphrase, press `key` (Ctrl-D: b'\\x04', Ctrl-C: b'\\x03'). Returns the result and what the
    terminal showed; stdout and stderr are pipes, so stderr holds only what auditor wrote there."""
    terminal, their_side = pty.openpty()

    def take_the_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    with subprocess.Popen([AUDITOR, *args], cwd=work, env=_env(work), stdin=their_side, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True,
                          preexec_fn=take_the_terminal) as process:
        os.close(their_side)
        shown, deadline = b"", time.monotonic() + 30
        try:
            while b"Passphrase" not in shown and time.monotonic() < deadline and process.poll() is None:
                if select.select([terminal], [], [], 0.2)[0]:
                    shown += os.read(terminal, 4096)
            if process.poll() is None:
                os.write(terminal, key)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            os.close(terminal)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), shown


def test_end_of_input_at_the_new_key_passphrase_prompt_is_a_clean_refusal(work):
    # Given `keys init` asking for a passphrase on a terminal; when the user presses Ctrl-D
    result, shown = _at_the_prompt(work, b"\x04", "keys", "init", "--dir", "keys")
    # Then the prompt was shown, the refusal is one line, exit 2, and no key was written
    assert b"Passphrase to protect the new private keys" in shown
    assert_refused(result, "prompt: no passphrase was given to protect the new private keys")
    assert not (work / "keys").exists()


def test_end_of_input_at_the_signing_key_prompt_costs_no_scan(work):
    # Given the processor's signing key in the key folder, and a replay asked for on a terminal
    processor_keys(work.parent / "config")
    before = _tree(work)
    # When the user presses Ctrl-D at the prompt that unlocks the signing key
    result, shown = _at_the_prompt(work, b"\x04", "replay", HOST, *QUIET, "--out", "run", "--allow-unsigned")
    # Then one line, exit 2, and no run folder was made (the key is unlocked before the scan)
    assert b"Passphrase to unlock the signing key" in shown
    assert_refused(result, "no passphrase was given to unlock the signing key")
    assert _tree(work) == before


def test_ctrl_c_at_the_passphrase_prompt_is_one_line_and_exit_130(work):
    # Given `keys init` asking for a passphrase; when the user presses Ctrl-C
    result, _ = _at_the_prompt(work, b"\x03", "keys", "init", "--dir", "keys")
    # Then one line, the interrupt's exit code, no traceback, and no key was written
    assert_refused(result, "auditor: interrupted", code=130)
    assert not (work / "keys").exists()
