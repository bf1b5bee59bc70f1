"""Check discovery and validation: packs come through the entry-point group; malformed checks are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auditor.collectors import COLLECTORS
from auditor.errors import CheckDefinitionError
from auditor.models import Severity
from auditor.plugin import check
from auditor.profile import load_profile
from auditor.registry import build_spec, discover
from tests.conftest import run_cli

PROFILE = load_profile()
REQUIREMENTS = [r.id for r in PROFILE.requirements]


def _spec(func):
    return build_spec(func, "test-pack", COLLECTORS, PROFILE.parameters, REQUIREMENTS)


def test_builtin_pack_is_discovered_through_the_entry_point_group():
    specs = discover(COLLECTORS, PROFILE.parameters, REQUIREMENTS)
    assert {"LOG-0020", "LOG-0040"} <= set(specs)
    assert {s.pack for s in specs.values()} == {"builtin"}
    assert specs["LOG-0020"].facts == ("journald", "syslog") and specs["LOG-0020"].params == ("log_retention_days",)


def test_parameters_are_split_into_facts_and_profile_parameters():
    @check(id="TEST-0010", title="A test check", severity=Severity.LOW, remediation="None.")
    def probe(timesync, min_aes_bits, target):
        raise AssertionError("not called")

    spec = _spec(probe)
    assert spec.facts == ("timesync",) and spec.params == ("min_aes_bits", "target")
    assert spec.source.endswith(f"test_registry.py:{probe.__code__.co_firstlineno}")


@pytest.mark.parametrize(
    ("meta", "words"),
    [
        ({"id": "log-10"}, "is not of the form FAMILY-NNNN"),
        ({"title": "Ensure logs exist"}, "not starting with 'Ensure'"),
        ({"title": "x" * 101}, "1-100 characters"),
        ({"remediation": " "}, "remediation is empty"),
        ({"requirements": ("R99",)}, "requirement 'R99' is not in the profile"),
        ({"severity": "high"}, "is not a Severity"),
    ],
)
def test_malformed_metadata_names_pack_id_and_file_line(meta, words):
    fields = {"id": "TEST-0020", "title": "A test check", "severity": Severity.LOW, "remediation": "Fix it."}

    @check(**(fields | meta))
    def probe(timesync):
        raise AssertionError("not called")

    with pytest.raises(CheckDefinitionError) as error:
        _spec(probe)
    message = str(error.value)
    assert words in message and "test_registry.py:" in message and "\n" not in message


def test_parameter_naming_nothing_is_refused_with_the_known_collectors():
    @check(id="TEST-0030", title="A test check", severity=Severity.LOW, remediation="Fix it.")
    def probe(sshd_conf):
        raise AssertionError("not called")

    with pytest.raises(CheckDefinitionError, match=r"TEST-0030 \(pack 'test-pack'\): parameter 'sshd_conf' "
                       r"names no collector.*known collectors: .*journald, .*system, timesync"):
        _spec(probe)


PACK_SETUP = """\
[project]
name = "acme-audit-checks"
version = "0.1"
[project.entry-points."auditor.checks"]
acme = "acme_audit_checks"
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""

GOOD_CHECK = '''\
from auditor.collectors.system import SystemFacts
from auditor.plugin import Severity, Verdict, check

@check(id="ACME-0010", title="The host name is set", severity=Severity.LOW, requirements=("R4",),
       remediation="Set a host name.")
def hostname_set(system: SystemFacts) -> Verdict:
    if system.hostname:
        return Verdict.passed(f"Host name is {system.hostname}.")
    return Verdict.failed("No host name.")
'''


def _install_pack(tmp_path: Path, check_source: str) -> Path:
    """Build and install a tiny out-of-tree pack with pip, as a third party would."""
    project = tmp_path / "acme"
    (project / "acme_audit_checks").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PACK_SETUP)
    (project / "acme_audit_checks" / "__init__.py").write_text("")
    (project / "acme_audit_checks" / "hosts.py").write_text(check_source)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--disable-pip-version-check", "--target", str(site), str(project)],
                   check=True, capture_output=True)
    return site


@pytest.mark.slow
def test_out_of_tree_pack_is_a_first_class_citizen(tmp_path):
    site = _install_pack(tmp_path, GOOD_CHECK)
    listing = run_cli("checks", "list", "--json", env={"PYTHONPATH": str(site)})
    assert listing.returncode == 0, listing.stderr
    assert '"ACME-0010"' in listing.stdout and '"pack": "acme"' in listing.stdout
    scan = run_cli("scan", "--check", "ACME-0010", "--json", "--out", str(tmp_path / "run"),
                   env={"PYTHONPATH": str(site)})
    assert scan.returncode == 0, scan.stderr
    assert '"check_id": "ACME-0010"' in scan.stdout and '"status": "pass"' in scan.stdout


@pytest.mark.slow
def test_broken_pack_is_refused_at_load_time_naming_pack_id_and_line(tmp_path):
    site = _install_pack(tmp_path, GOOD_CHECK.replace("ACME-0010", "ACME-10"))
    result = run_cli("checks", "list", env={"PYTHONPATH": str(site)})
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "acme_audit_checks/hosts.py:4" in line and "'ACME-10' (pack 'acme')" in line


@pytest.mark.slow
def test_pack_that_fails_to_import_is_named(tmp_path):
    site = _install_pack(tmp_path, "import does_not_exist\n")
    result = run_cli("checks", "list", env={"PYTHONPATH": str(site)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "check pack 'acme': module acme_audit_checks.hosts failed to import: ModuleNotFoundError" in result.stderr


@pytest.mark.slow
def test_duplicate_id_across_packs_names_both_places(tmp_path):
    site = _install_pack(tmp_path, GOOD_CHECK.replace("ACME-0010", "LOG-0040"))
    result = run_cli("checks", "list", env={"PYTHONPATH": str(site)})
    assert result.returncode == 2
    assert "LOG-0040 is defined twice" in result.stderr and "pack 'builtin'" in result.stderr
    assert "pack 'acme'" in result.stderr


def test_a_mistyped_parameter_with_a_default_is_refused_not_silently_defaulted():
    # Given a check whose profile parameter is misspelt but has a default (it would never see the profile's value)
    @check(id="TEST-0090", title="A test check", severity=Severity.LOW, remediation="None.")
    def probe(disk, min_aes_bit=256):
        raise AssertionError("not called")

    # When the pack is loaded, Then it is refused, naming the parameter and the name it probably meant
    with pytest.raises(CheckDefinitionError, match=r"parameter 'min_aes_bit' names no collector.*did you mean "
                                                   r"'min_aes_bits'"):
        _spec(probe)


def test_loading_the_check_packs_imports_no_collector_a_check_does_not_run():
    # Given a fresh interpreter (this one has imported every collector already)
    probe = ("import sys; from auditor.collectors import COLLECTORS; from auditor.pipeline import load_checks; "
             "from auditor.profile import load_profile; load_checks(load_profile(None)); 'tls' in COLLECTORS; "
             "print(' '.join(sorted(m for m in sys.modules if m.startswith('auditor.collectors.'))))")
    # When every check pack is loaded and validated, and the collector table is asked what it holds
    loaded = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
                 .stdout.split())
    # Then only what every scan needs is imported (the runner's system detection and its SSH host-key command),
    # not the other collectors: a scan imports those its checks need when they run
    assert loaded <= {"auditor.collectors.base", "auditor.collectors.system", "auditor.collectors.powershell",
                      "auditor.collectors.ssh_wire"}, loaded
    assert "auditor.collectors.system" in loaded


def test_a_check_s_parameters_are_read_as_inspect_signature_reads_them():
    import functools
    import inspect

    from auditor.pipeline import load_checks
    from auditor.profile import load_profile
    from auditor.registry import _parameter_names

    def plain(a, b, /, c, *, d): ...
    def varargs(a, *rest, b, **more): ...

    @functools.wraps(plain)
    def wrapped(*args, **kwargs): ...

    odd = [plain, varargs, wrapped, functools.partial(plain, 1), lambda target: None]
    for func in [spec.func for spec in load_checks(load_profile()).values()] + odd:
        assert _parameter_names(func) == tuple(inspect.signature(func).parameters), func


def test_a_pack_s_modules_are_found_as_pkgutil_walks_them(tmp_path, monkeypatch):
    import pkgutil

    from auditor.registry import _submodules

    # Given a pack with a subpackage, a folder that is no package, a package and a module of one name, data files,
    # a module kept only compiled, and the built-in pack
    root = tmp_path / "walked"
    for path, text in {"__init__.py": "", "b.py": "", "a.py": "", "sub/__init__.py": "", "sub/deep/__init__.py": "",
                       "sub/deep/z.py": "", "sub/c.py": "", "notpkg/x.py": "", "data.yaml": "", "twin.py": "",
                       "twin/__init__.py": "", "only.pyc": "", "dotted.name.py": "", "__pycache__/a.cpython.pyc": ""
                       }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    import walked

    import checks

    for package in (walked, checks):
        # When its modules are listed, Then they are pkgutil's, in pkgutil's order
        prefix = f"{package.__name__}."
        assert list(_submodules(package.__path__, prefix)) == \
            [info.name for info in pkgutil.walk_packages(package.__path__, prefix)]
    assert "walked.sub.deep.z" in _submodules(walked.__path__, "walked.")


def test_a_scan_never_imports_inspect():
    # Given a fresh interpreter (pytest has imported inspect in this one)
    probe = ("import sys; from auditor.pipeline import load_checks; from auditor.profile import load_profile; "
             "from auditor import cli, inventory, runner; load_checks(load_profile(None)); "
             "print('inspect' in sys.modules, 'dataclasses' in sys.modules)")
    # When the command line, the inventory reader and the runner are imported and every check pack is loaded
    # (isolated: no sitecustomize of the environment, such as the test-later clock's, imports anything first)
    found = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True)
    # Then inspect (with ast, dis and tokenize, 7 ms) was never imported (auditor/without_inspect.py)
    assert found.stdout.split() == ["False", "True"], found.stderr


def test_an_undocumented_dataclass_still_gets_its_signature_as_its_docstring():
    # Given dataclasses imported with inspect standing in (a fresh interpreter)
    probe = ("import sys, auditor, dataclasses; assert 'inspect' not in sys.modules\n"
             "@dataclasses.dataclass\nclass Point:\n    x: int\n    y: int = 0\n"
             "print(Point.__doc__); import inspect; print(type(inspect).__name__, inspect.signature(Point))")
    # When a dataclass without a docstring is made, Then its docstring is its signature, as dataclasses writes it,
    # and `import inspect` then gives the real module
    found = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.splitlines() == ["Point(x: int, y: int = 0)", "module (x: int, y: int = 0) -> None"]
