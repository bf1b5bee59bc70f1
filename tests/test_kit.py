"""The home kit (`auditor kit build`): a Linux kit scans and seals offline in a fresh venv and its sealed findings
are those of a direct home scan; the Windows and macOS kits resolve offline, wheel for wheel, for every supported
Python; the launchers pass shellcheck and say in plain words when there is no Python.

The kits are built from the wheelhouse `make test-setup` fills once (`make wheelhouse`, .cache/wheelhouse): no
test downloads anything, and pip inside the kit is pointed at a 127.0.0.1 port that counts connections.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from auditor.bundle.results import read_results
from auditor.kit.build import LAUNCHERS, PYTHON_VERSIONS, TEMPLATES, platform_matches
from auditor.kit.summary_html import summary_html
from tests.conftest import ROOT, run_cli
from tests.test_extras import moved_clock_env

WHEELHOUSE = ROOT / ".cache" / "wheelhouse"
PASSPHRASE = {"AUDITOR_KEY_PASSPHRASE": "kit-test"}
TARGETS = {"windows": ("win_amd64",), "macos": ("macosx_11_0_x86_64", "macosx_11_0_arm64")}
CORE = {"auditor", "pyyaml", "psutil", "cryptography", "rich", "tzdata", "python-debian"}


def offline_pip_env(index_port: int, scratch: Path) -> dict[str, str]:
    """This environment without pip settings, with an index that is a counting 127.0.0.1 port: any download
    attempt would knock on it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=f"http://127.0.0.1:{index_port}/simple",
               PIP_DISABLE_PIP_VERSION_CHECK="1", AUDITOR_KIT_NO_OPEN="1")
    return moved_clock_env(env, scratch)


def employee_pip_env(index_port: int, scratch: Path) -> dict[str, str]:
    """An employee's environment whose pip settings would each change the install if the kit's pip saw them: the
    counting index, `--user` and another target folder from their pip.conf, a PIP_TARGET variable."""
    conf = scratch / "employee-pip.conf"
    conf.write_text(f"[global]\nindex-url = http://127.0.0.1:{index_port}/simple\n"
                    f"[install]\nuser = true\ntarget = {scratch / 'pip-conf-target'}\n")
    return {**offline_pip_env(index_port, scratch), "PIP_CONFIG_FILE": str(conf),
            "PIP_TARGET": str(scratch / "pip-env-target")}


@pytest.fixture(scope="module")
def kits(tmp_path_factory) -> Path:
    """Kits for all three systems, in Danish, built from the wheelhouse, with a fresh processor key pair."""
    assert (WHEELHOUSE / ".complete").is_file(), f"{WHEELHOUSE} is empty: run `make test-setup` (make wheelhouse)"
    root = tmp_path_factory.mktemp("kits")
    assert run_cli("keys", "init", "--dir", str(root / "keys"), env=PASSPHRASE).returncode == 0
    built = run_cli("kit", "build", "--seal-to", str(root / "keys" / "seal.pub"), "--os", "linux,windows,macos",
                    "--lang", "da", "--out", str(root / "out"), "--wheelhouse", str(WHEELHOUSE), timeout=300)
    assert built.returncode == 0, built.stderr
    return root


@pytest.fixture
def index_port():
    """A listening 127.0.0.1 port standing in for PyPI; the test asserts afterwards that nobody connected."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def _connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            server.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


def _unzip(kits: Path, system: str, dest: Path) -> Path:
    with zipfile.ZipFile(kits / "out" / f"auditor-kit-{system}.zip") as archive:
        for info in archive.infolist():  # zipfile drops the mode bits; the launcher's executable bit is in them
            path = Path(archive.extract(info, dest))
            if info.external_attr >> 16:
                path.chmod((info.external_attr >> 16) & 0o777)
    return dest / f"auditor-kit-{system}"


def _statuses(run_dir: Path) -> dict[str, set[str]]:
    per_check: dict[str, set[str]] = defaultdict(set)
    for finding in read_results(run_dir).findings():
        per_check[finding.check_id].add(finding.status.value)
    return dict(per_check)


@pytest.mark.slow
@pytest.mark.alone
def test_a_linux_kit_scans_and_seals_offline_with_the_findings_of_a_direct_home_scan(kits, tmp_path, index_port):
    # Given the Linux kit's zip, unpacked in a scratch folder, and a pip whose only index is a counting local port
    kit = _unzip(kits, "linux", tmp_path / "downloads")
    # When the employee, whose pip settings point elsewhere, starts the launcher from their own home folder
    home = tmp_path / "employee-home"
    home.mkdir()
    employee = {**employee_pip_env(index_port.getsockname()[1], tmp_path), "HOME": str(home)}
    employee.pop("XDG_CONFIG_HOME", None)  # the suite's own: an employee has none, so ~/.config is the default
    started = subprocess.run([str(kit / "scan-this-machine.sh")], capture_output=True, text=True, timeout=300,
                             env=employee, check=False)
    assert started.returncode in (0, 1), started.stdout + started.stderr
    # Then auditor kept nothing in that home (its activity log and the log's key stay in the kit's folder)
    assert not [p for p in home.rglob("*") if "auditor" in p.name], list(home.rglob("*"))
    assert (kit / "kit" / "state" / "audit.log").is_file()
    # Then pip installed from the kit's wheels only, into the kit's own environment: nothing knocked on the
    # index, nothing went to the folders the employee's settings name, and the kit's pip log names only the kit
    assert _connections(index_port) == 0
    assert not (tmp_path / "pip-conf-target").exists() and not (tmp_path / "pip-env-target").exists()
    pip_log = (kit / "kit" / "pip.log").read_text(encoding="utf-8")
    assert f"Looking in links: {kit / 'kit' / 'wheels'}" in pip_log and "Downloading" not in pip_log
    # and the results folder holds the sealed file and the Danish summary, and no unsealed run folder
    results = kit / "results"
    (bundle,) = results.glob("*.auditor-bundle")
    (summary,) = results.glob("*.det-skal-rettes.html")
    assert [p for p in results.iterdir() if p.is_dir()] == []
    # and the last line printed is the sealed file's full path
    assert started.stderr.strip().splitlines()[-1] == str(bundle.resolve())
    assert "Aflever denne ene fil" in started.stderr and '<html lang="da">' in summary.read_text(encoding="utf-8")
    # When the processor opens the sealed file with its key, and the same machine is scanned directly
    opened = run_cli("open", str(bundle), "--key", str(kits / "keys" / "seal.key"), "--out", str(tmp_path / "opened"),
                     "--allow-unsigned", env=PASSPHRASE)
    assert opened.returncode == 0, opened.stderr
    direct = run_cli("scan", "--home", "--format", "none", "--no-history", "--no-sign", "--out",
                     str(tmp_path / "direct"), cwd=tmp_path)
    assert direct.returncode in (0, 1), direct.stderr
    # Then every check has the same statuses in both (a home scan of one machine, seconds apart, is stable)
    assert _statuses(tmp_path / "opened") == _statuses(tmp_path / "direct")
    # When the employee runs the kit again with --keep
    again = subprocess.run([str(kit / "scan-this-machine.sh"), "--keep"], capture_output=True, text=True,
                           env=offline_pip_env(index_port.getsockname()[1], tmp_path), timeout=300, check=False)
    # Then nothing is installed again, and the unsealed run folder stays beside its sealed file
    assert again.returncode in (0, 1), again.stderr
    assert "Gør kontrollen klar" not in again.stdout + again.stderr
    (kept,) = [p for p in results.iterdir() if p.is_dir()]
    assert (kept / "results.json").is_file() and kept.with_name(kept.name + ".auditor-bundle").is_file()
    assert _connections(index_port) == 0


@pytest.mark.parametrize("system", ["windows", "macos"])
def test_every_wheel_of_a_windows_or_macos_kit_is_for_that_system_and_pinned(kits, system):
    # Given the kit built for the system
    wheels = kits / "out" / system / "kit" / "wheels"
    pinned = (kits / "out" / system / "kit" / "requirements.txt").read_text(encoding="utf-8")
    found = sorted(wheels.glob("*.whl"))
    # Then each wheel's platform tag is that system's (or any), and its sha256 is pinned in the kit
    assert found and all(platform_matches(w.name, system) for w in found), [w.name for w in found]
    assert all(f"sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}" in pinned for w in found)
    assert (kits / "out" / system / LAUNCHERS[system]).is_file()
    assert not platform_matches("pyyaml-6.0.4-cp311-cp311-win_amd64.whl", "macos")


@pytest.mark.parametrize("system", ["windows", "macos"])
def test_a_windows_or_macos_kit_resolves_offline_for_every_supported_python(kits, tmp_path, system, index_port):
    # Given the kit's wheels and nothing else
    kit = kits / "out" / system / "kit"
    env = offline_pip_env(index_port.getsockname()[1], tmp_path)

    def resolve(job: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        platform, version = job
        return subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--find-links", str(kit / "wheels"),
             "--platform", platform, "--only-binary=:all:", "--python-version", version, "--implementation", "cp",
             "--target", str(tmp_path / f"{platform}-{version}"), "auditor"],
            capture_output=True, text=True, env=env, timeout=120, check=False)

    # When pip resolves auditor for each of the system's machines and each supported Python version
    jobs = [(p, v) for p in TARGETS[system] for v in PYTHON_VERSIONS]
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = dict(zip(jobs, pool.map(resolve, jobs), strict=True))
    # Then every resolution is complete: auditor and each core dependency would be installed, nothing fetched
    for job, result in done.items():
        assert result.returncode == 0, (job, result.stderr)
        (would,) = [line for line in result.stdout.splitlines() if line.startswith("Would install")]
        names = {n.rsplit("-", 1)[0].lower().replace("_", "-") for n in would.split()[2:]}
        assert names >= CORE, (job, would)
    assert _connections(index_port) == 0


def test_the_posix_launchers_pass_shellcheck():
    # Given the Linux and macOS launchers
    launchers = [TEMPLATES / LAUNCHERS["linux"], TEMPLATES / LAUNCHERS["macos"]]
    # When shellcheck reads them
    checked = subprocess.run(["shellcheck", "--shell=sh", *map(str, launchers)], capture_output=True, text=True,
                             timeout=60, check=False)
    # Then it finds nothing
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(("lang", "said"), [("en", "needs Python 3.11 or newer"),
                                            ("da", "kræver Python 3.11 eller nyere"),
                                            (None, "needs Python 3.11 or newer")])
def test_a_computer_without_python_is_told_in_plain_words_in_the_kits_language_where_to_get_it(tmp_path, lang, said):
    # Given a computer whose PATH has the shell's tools but no Python, and a kit in a language (None: no kit.json)
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("dirname", "grep"):
        (tools / tool).symlink_to(shutil.which(tool))
    kit = tmp_path / "kit"
    (kit / "kit").mkdir(parents=True)
    shutil.copy2(TEMPLATES / LAUNCHERS["linux"], kit / LAUNCHERS["linux"])
    if lang:  # as kit build writes it
        (kit / "kit" / "kit.json").write_text(json.dumps({"system": "linux", "lang": lang}, indent=2))
    before = sorted(p.relative_to(kit) for p in kit.rglob("*"))
    # When the employee starts the launcher
    started = subprocess.run(["/bin/sh", str(kit / LAUNCHERS["linux"])], capture_output=True, text=True,
                             env={"PATH": str(tools)}, timeout=30, check=False)
    # Then it says what is missing and how to install it, in the kit's language, and nothing else happens
    assert started.returncode == 3 and not started.stderr
    assert said in started.stdout and "sudo apt install python3 python3-venv" in started.stdout
    assert sorted(p.relative_to(kit) for p in kit.rglob("*")) == before


def test_the_windows_launcher_has_crlf_line_ends_for_cmd_exe():
    # cmd.exe can miss a label (goto :done) in a file with bare LF line ends
    text = (TEMPLATES / LAUNCHERS["windows"]).read_bytes()
    assert text.count(b"\n") == text.count(b"\r\n") > 10


def test_kit_build_with_a_missing_key_is_one_line_and_builds_nothing(tmp_path):
    # Given no seal.pub where the flag points
    # When the security lead builds a kit
    built = run_cli("kit", "build", "--seal-to", str(tmp_path / "seal.pub"), "--out", str(tmp_path / "kit"),
                    "--wheelhouse", str(tmp_path))
    # Then one line names the flag, and no kit folder appears
    assert built.returncode == 2
    assert built.stderr.count("\n") == 1 and "--seal-to" in built.stderr, built.stderr
    assert not (tmp_path / "kit").exists()


def test_the_html_summary_holds_the_console_lines_escaped_with_the_file_last():
    # Given summary lines carrying a hostile drive label
    lines = ["", "1 thing needs attention:", " • The disk is not encrypted (<script>x</script>). To fix it: ask.", "",
             "Hand in this one file:", "/home/anna/results/r.auditor-bundle"]
    # When the page is made
    page = summary_html(lines, "en")
    # Then the label is text, the problem is a list item and the path is last
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<li>The disk is not encrypted" in page
    assert page.index("/home/anna/results/r.auditor-bundle") > page.index("Hand in this one file")


def test_the_systems_the_parser_offers_are_the_ones_the_builder_serves():
    # The `kit build --os` choices live apart from the builder so that every command need not import it
    from auditor.kit import OPERATING_SYSTEMS
    from auditor.kit.build import PLATFORMS

    assert tuple(PLATFORMS) == OPERATING_SYSTEMS


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_checks_that_need_administrator_rights_are_named_in_the_kits_language(tmp_path, monkeypatch, capsys,
                                                                                    lang):
    # Given a kit in a language, on a computer where a check needs administrator rights (as a plain user scans)
    from auditor.kit import home_run
    from auditor.report.messages import Words

    title = "A host firewall is active and drops inbound traffic that no rule allows"
    (tmp_path / "kit.json").write_text(f'{{"lang": "{lang}", "profile": null}}')
    monkeypatch.setattr(home_run, "admin_reasons", lambda kit, profile: [title])
    # When the launcher asks which checks those are
    assert home_run.main(["--kit", str(tmp_path), "--results", str(tmp_path / "r"), "--admin-reasons"]) == 0
    # Then the employee reads them in the kit's language
    said = capsys.readouterr().out.strip()
    assert said == Words(lang).text(title) and (said != title) == (lang == "da"), said
