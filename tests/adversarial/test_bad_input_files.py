"""Bad input files, as an attacker or a careless user gives them: alias bombs, impossible dates and tags, special
files, control characters, the wrong file, and values that would silently turn a check off. Through the installed
`auditor` command each one is refused before any work with ONE line on stderr naming the file, exit 2 and no
traceback; a fuzzer (hypothesis) mutates the sample inventory and profile and writes random YAML, and every
load either succeeds or raises one InputError line naming the file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from auditor.errors import InputError
from auditor.inventory import load_inventory
from auditor.profile import load_profile
from tests.conftest import FIXTURES, child_env

pytestmark = [pytest.mark.attack("bad input: files"), pytest.mark.slow]

# Hypothesis caches what it reads from the source even without an example database, and its pytest plugin does
# so while collecting (before any fixture): in a temporary folder removed when pytest exits, never in the repo.
_HYPOTHESIS_HOME = tempfile.TemporaryDirectory(prefix="auditor-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME.name)

AUDITOR = Path(sys.executable).parent / "auditor"  # the installed command, as a user runs it
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SAMPLE_INVENTORY = (FIXTURES / "sample-inventory.yaml").read_text(encoding="utf-8")
SAMPLE_PROFILE = (FIXTURES / "sample-profile.yaml").read_text(encoding="utf-8")
SAMPLE_ANSIBLE = (FIXTURES / "sample-ansible-hosts.ini").read_text(encoding="utf-8")
# The sample profile with the sections it lacks, so mutations reach check tailoring and requirement tailoring too.
PROFILE_SEED = SAMPLE_PROFILE + ("checks:\n  LOCK-0010: {severity: high, roles: [workstation], locations: [home]}\n"
                                 "tailoring:\n  R10: {add_checks: [LOCK-0010]}\n")
SHADOW_HASH = "$y$j9T$PxVqmT0aVJ4tY1cR1m3Oa1$Zk2b0f9b7bXoQ1hX7Q2aNw8bq8m1p9l0R6JY2uVb5s1"


def _laughs(levels: int = 12) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\ntargets: *a11\n"


def _waiver(created: str = "2026-01-01", expires: str = "2026-12-31") -> str:
    return (f"extends: default\nwaivers:\n  - {{check: LOCK-0010, reason: r, approver: DPO, created: {created}, "
            f"expires: {expires}, risk: low}}\n")


def _attestation(next_review: str) -> str:
    return ("extends: default\nattestations:\n  - {requirement: R10, statement: Keys registered., attestor: {name: M},"
            f" date: 2026-01-01, next_review: {next_review}}}\n")


def _text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content, encoding="utf-8")


def _bytes(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def _sparse(size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with open(path, "wb") as handle:
            handle.truncate(size)
    return make


# (flag, how the file is made, words the one line holds, text that must NOT show)
CASES = {
    "billion laughs inventory": ("--inventory", _text(_laughs()), "expands to more than 250,000 values", ""),
    "billion laughs profile": ("--profile", _text("extends: default\n" + _laughs()), "expands to more than", ""),
    "alias that contains itself": ("--inventory", _text("targets: &t [*t]\n"), "refers to the value that contains", ""),
    "day 30 of February": ("--profile", _text(_waiver(created="2026-02-30")), "'2026-02-30' is not a calendar",
                           ""),
    "month 31": ("--profile", _text(_waiver(expires="2026-31-12")), "'2026-31-12' is not a calendar date", ""),
    "next_review in month 13": ("--profile", _text(_attestation("2026-13-01")), "'2026-13-01' is not a calendar", ""),
    "!!float x": ("--profile", _text("extends: default\nparameters: {min_aes_bits: !!float x}\n"),
                  "'x' is not a number", ""),
    "bad !!timestamp": ("--profile", _text(_waiver(expires="!!timestamp soon")), "'soon' is not a calendar date", ""),
    "unknown !foo tag": ("--inventory", _text("targets:\n  - !foo {name: a, kind: local}\n"),
                         "tag '!foo' is not used in auditor files", ""),
    "FIFO as inventory": ("--inventory", os.mkfifo, "a named pipe (FIFO), not a regular file", ""),
    "a folder as inventory": ("--inventory", Path.mkdir, "a folder, not a regular file", ""),
    "50 MB profile": ("--profile", _sparse(50 << 20), "larger than 1 MiB", ""),
    "NUL character": ("--inventory", _bytes(b"targets:\n  - {name: a\x00, kind: local}\n"), ":2:13: not valid YAML",
                      ""),
    "terminal escape in YAML": ("--inventory", _bytes(b"targets:\n  - {name: \x1b]0;owned\x07, kind: local}\n"),
                                ":2:12: not valid YAML: character U+001B", "\x1b"),
    "not UTF-8": ("--profile", _bytes("extends: default\nname: S\xf8ren\n".encode("latin-1")), ":2:8: cannot read", ""),
    "a shadow file as profile": ("--profile", _text(f"root:{SHADOW_HASH}:20228:0:99999:7:::\n"
                                                    "daemon:*:20228:0:99999:7:::\n"),
                                 "not a key name", SHADOW_HASH[:8]),
    "a private key as inventory": ("--inventory", _text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n"),
                                   "got text", "b3Bl"),
    "scope typo roles: [kingpin]": ("--profile", _text("extends: default\nchecks:\n  LOCK-0010: {roles: [kingpin]}\n"),
                                    "unknown role 'kingpin'; use one of workstation, server, endpoint", ""),
    "waiver created after it expires": ("--profile", _text(_waiver(created="2026-12-01", expires="2026-01-01")),
                                        "before it was created", ""),
    "log_retention_days: 1e26": ("--profile", _text("extends: default\nparameters: {log_retention_days: 1e26}\n"),
                                 "log_retention_days", ""),
    "log_retention_days: 10^26": ("--profile", _text("extends: default\nparameters: {log_retention_days: 1"
                                                     + "0" * 26 + "}\n"), "from 1 to 36500", ""),
    "host with a newline": ("--inventory", _text('targets:\n  - {name: a, kind: ssh, host: "web\\nProxyCommand x"}\n'),
                            "field 'host' holds a control character", ""),
    "password in password_env": ("--inventory", _text("targets:\n  - {name: a, kind: ssh, host: h, "
                                                      "password_env: 'S3cret pw'}\n"),
                                 "password_env must name", "S3cret"),
    "Ansible range bomb": ("--inventory", _text("[servers]\nweb[0:999999999].example.dk\n"),
                           "more than 20,000 hosts", ""),
}


def _auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AUDITOR), *args], capture_output=True, text=True, cwd=cwd, env=child_env(),
                          timeout=60, check=False)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_input_file_is_one_line_and_exit_2_before_any_work(tmp_path, case):
    # Given a hostile or mistaken input file
    flag, make, words, hidden = CASES[case]
    path = tmp_path / ("hosts.ini" if "Ansible" in case else "input.yaml")
    make(path)
    # When the installed command is given it (a scan for an inventory, `profile show` for a profile)
    out = tmp_path / "run"
    argv = ("scan", flag, str(path), "--out", str(out), "--format", "none", "--no-history", "--quiet") \
        if flag == "--inventory" else ("profile", "show", flag, str(path))
    done = _auditor(*argv, cwd=tmp_path)
    # Then it exits 2 with one line naming the file and the problem, no traceback, and nothing was started
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and lines[0].startswith(f"auditor: {path}")
    assert words in lines[0] and not out.exists()
    assert not hidden or hidden not in done.stderr


# -- the fuzzer -----------------------------------------------------------------------------------------------------

NASTY = ["\x00", "\x07", "\x1b[2J", "\n", "\t", "\r", "\u2028", "\ufeff", "&a ", "*a", "*missing", "!!float x",
         "!foo ", "!!timestamp 2026-02-30", "2026-02-30", "2026-31-12", "1e26", "-1", "9" * 30, "kingpin", ": ",
         "- ", "{", "}", "[", "]", "'", '"', "#", "|", ">", "%YAML 1.1\n", "@", "`", "<<: *a", "? ", "---\n", "...\n",
         "~", "null", "yes", "0x1F", "é", "        ", "[0:99999999]", "!!binary AAAA", "&a [*a]", "{a: &b [*b]}"]
VOCABULARY = ["targets", "defaults", "name", "kind", "host", "port", "user", "tags", "role", "location", "zone",
              "starttls", "sudo", "auth", "password_env", "identity_file", "proxy_jump", "server_name", "parameters",
              "checks", "waivers", "attestations", "roles", "locations", "check", "reason", "approver", "created",
              "expires", "risk", "requirement", "statement", "attestor", "date", "next_review", "tailoring",
              "log_retention_days", "pii_paths", "vpn_required_for", "controller", "severity", "enabled", "all",
              "hosts", "children", "vars"]
WORDS = ["local", "ssh", "tls", "server", "workstation", "endpoint", "home", "office", "LOCK-0010", "R10", "low",
         "mysql", "none", "web-01", "127.0.0.1", "default", "2026-12-31", "high"]


@st.composite
def mutated(draw: st.DrawFn, sample: str) -> str:
    """The sample with a few edits: a nasty token inserted, a span deleted, a line doubled, a word replaced."""
    text = sample
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "double", "replace"]))
        if edit == "insert":
            text = text[:at] + draw(st.sampled_from(NASTY) | st.text(max_size=6)) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif edit == "double":
            start, end = text.rfind("\n", 0, at) + 1, text.find("\n", at)
            line = text[start:] if end < 0 else text[start:end + 1]
            text = text[:start] + line + text[start:]
        else:
            word = next(re.finditer(r"[\w.-]+", text[at:]), None)
            if word is not None:
                replacement = draw(st.sampled_from(NASTY + WORDS))
                text = text[:at + word.start()] + replacement + text[at + word.end():]
    return text


_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.dates()
            | st.sampled_from(WORDS))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=6), inner, max_size=5),
                       max_leaves=30)
def _places(data: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in a document: each mapping value and list item, at any depth."""
    inner = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    return [path] + [place for key, value in inner for place in _places(value, (*path, key))]


@st.composite
def replaced(draw: st.DrawFn, sample: str) -> str:
    """The sample's data with one value anywhere swapped for a random value (a list, a date, text, a number...)."""
    data = yaml.safe_load(sample)
    *parents, last = draw(st.sampled_from([p for p in _places(data) if p]))
    holder = data
    for key in parents:
        holder = holder[key]
    holder[last] = draw(_VALUES)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


RANDOM_YAML = st.dictionaries(st.sampled_from(VOCABULARY), _VALUES, max_size=4).map(
    lambda data: yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def _loads_or_refuses_in_one_line(load: Callable[[Path], object], text: str, name: str) -> None:
    """Load `text` from a file: success, or an InputError whose str is one short line naming the file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load(path)
        except InputError as exc:
            message = str(exc)
            assert "\n" not in message and "\r" not in message and message.isprintable(), message
            assert message.startswith(folder) or "extends" in text, message
            assert len(message) < 1000, message


@FUZZ
@given(mutated(SAMPLE_INVENTORY))
def test_fuzz_mutated_inventories_load_or_refuse_in_one_line(text):
    _loads_or_refuses_in_one_line(load_inventory, text, "inventory.yaml")


@FUZZ
@given(mutated(PROFILE_SEED))
def test_fuzz_mutated_profiles_load_or_refuse_in_one_line(text):
    _loads_or_refuses_in_one_line(load_profile, text, "profile.yaml")


@FUZZ
@given(mutated(SAMPLE_ANSIBLE))
def test_fuzz_mutated_ansible_inventories_load_or_refuse_in_one_line(text):
    _loads_or_refuses_in_one_line(load_inventory, text, "hosts.ini")


@FUZZ
@given(replaced(SAMPLE_INVENTORY))
def test_fuzz_inventories_with_a_value_replaced_load_or_refuse_in_one_line(text):
    _loads_or_refuses_in_one_line(load_inventory, text, "inventory.yaml")


@FUZZ
@given(replaced(PROFILE_SEED))
def test_fuzz_profiles_with_a_value_replaced_load_or_refuse_in_one_line(text):
    _loads_or_refuses_in_one_line(load_profile, text, "profile.yaml")


@FUZZ
@given(RANDOM_YAML)
def test_fuzz_random_yaml_inventories_load_or_refuse_in_one_line(text):
    _loads_or_refuses_in_one_line(load_inventory, text, "inventory.yaml")


@FUZZ
@given(RANDOM_YAML.map(lambda text: "extends: default\n" + text.replace("extends:", "x:")))
def test_fuzz_random_yaml_profiles_load_or_refuse_in_one_line(text):
    _loads_or_refuses_in_one_line(load_profile, text, "profile.yaml")


@settings(FUZZ, max_examples=8)
@given(mutated(SAMPLE_PROFILE))
def test_fuzz_the_installed_command_never_shows_a_traceback(text):
    # Given a mutated profile, When the installed command reads it, Then it is shown (0) or refused in one line (2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "profile.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        done = _auditor("profile", "show", "--profile", str(path), cwd=Path(folder))
    assert "Traceback" not in done.stderr
    assert (done.returncode, len(done.stderr.splitlines())) in ((0, 0), (2, 1)), done.stderr[-2000:]


def test_the_fuzz_seeds_load():
    # The samples the fuzzer mutates are themselves valid: a refusal of a mutation is about the mutation
    assert len(load_inventory(FIXTURES / "sample-inventory.yaml")) == 5
    assert load_profile(FIXTURES / "sample-profile.yaml").name == "region-example"
    assert len(load_inventory(FIXTURES / "sample-ansible-hosts.ini")) == 5
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "profile.yaml").write_text(PROFILE_SEED, encoding="utf-8")
        assert load_profile(Path(folder) / "profile.yaml").checks["LOCK-0010"].scope.locations == ("home",)
