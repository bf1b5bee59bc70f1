"""Build run folders for report tests: a real scan through the runner against FakeHosts whose
outputs are chosen by the test (hostile content included), written exactly as `auditor scan` writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from auditor.bundle.evidence import EvidenceStore
from auditor.bundle.finish import record_history
from auditor.bundle.results import write_results
from auditor.clock import FixedClock
from auditor.collectors.journald import CAT_CONFIG, HAS_PERSISTENT_DIR, IS_ACTIVE
from auditor.collectors.system import UNAME, USER_ID
from auditor.collectors.timesync import CHRONY, TIMEDATECTL
from auditor.files import dump_json, write_atomic
from auditor.models import Location, Role, Target, TargetKind
from auditor.pipeline import load_checks
from auditor.plan import Selection
from auditor.profile import Profile, load_profile
from auditor.runner import ScanOptions, run_scan
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost

CHECKS = frozenset({"LOG-0020", "LOG-0040"})


def linux_host(name: str, *, synced: bool = True, timedatectl_stderr: str = "") -> FakeHost:
    def ok(command, out, rc=0, err=""):
        return CommandResult(str(command), rc, out, err)

    host = FakeHost({
        str(UNAME): ok(UNAME, f"Linux {name} 6.1.0 x86_64\n"), str(USER_ID): ok(USER_ID, "0\n"),
        str(TIMEDATECTL): ok(TIMEDATECTL, f"NTP=yes\nNTPSynchronized={'yes' if synced else 'no'}\n")
        if not timedatectl_stderr else ok(TIMEDATECTL, "", 1, timedatectl_stderr),
        str(CHRONY): ok(CHRONY, "", 127, "not found"),
        str(CAT_CONFIG): ok(CAT_CONFIG, "[Journal]\nStorage=persistent\n"),
        str(IS_ACTIVE): ok(IS_ACTIVE, "active\n"), str(HAS_PERSISTENT_DIR): ok(HAS_PERSISTENT_DIR, ""),
    }, {"/etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'})
    host.target = name
    return host


# The fake hosts' runs happen at this moment, whatever day the tests run.
SCANNED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make_run(run_dir: Path, hosts: Mapping[str, FakeHost | Exception], profile: Profile | None = None,
             checks: frozenset[str] = CHECKS, *, at: datetime = SCANNED_AT, history: Path | None = None) -> Path:
    """Scan the fake hosts with the real runner at `at` and write the run folder as a scan does (results.json,
    profile.json, the evidence index; with `history`, also changes.json and trend.json and the history row).
    A host given as an exception is one the scan could not reach: opening it raises that."""
    profile = profile or load_profile()
    run_dir.mkdir(parents=True, exist_ok=True)
    store = EvidenceStore(run_dir)
    targets = [Target(name, TargetKind.SSH, Role.SERVER, Location.DATACENTER) for name in hosts]
    result = run_scan(f"{at:%Y%m%dT%H%M%SZ}-test", targets, load_checks(profile), profile, store,
                      ScanOptions(Selection(only=checks)), open_target=lambda target, _login: _open(hosts[target.name]),
                      clock=FixedClock(at))
    store.write_manifest()
    write_results(result, run_dir)
    write_atomic(run_dir / "profile.json", dump_json(profile.document()))
    if history is not None:
        record_history(history, result, run_dir)
    return run_dir


def _open(host: FakeHost | Exception) -> FakeHost:
    if isinstance(host, Exception):
        raise host
    return host
