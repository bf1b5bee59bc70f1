"""The one shared model: every layer (runner, results.json, reports) speaks in these types.

Everything that crosses a layer is a frozen dataclass or a StrEnum with stable lowercase values,
because it ends up in JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from auditor.records import record


class Status(StrEnum):
    """A finding's verdict."""

    PASS = "pass"  # requirement met
    FAIL = "fail"  # requirement not met
    WARN = "warn"  # met today, but close to the line
    ERROR = "error"  # collecting or evaluating failed; `error` says what
    NOT_APPLICABLE = "not_applicable"  # the check decided it does not apply, and says why
    SKIPPED = "skipped"  # the runner did not run it; `skip_reason` says why
    MANUAL = "manual"  # an organisational control, evidenced by an attestation
    WAIVED = "waived"  # a FAIL covered by an active waiver; the raw status is kept


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Platform(StrEnum):
    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"

    @property
    def name_in_text(self) -> str:
        """The operating system's own spelling, for sentences a reader sees ("macOS", not "macos")."""
        return {"linux": "Linux", "macos": "macOS", "windows": "Windows"}[self.value]


class TargetKind(StrEnum):
    LOCAL = "local"
    SSH = "ssh"
    TLS = "tls"


class Role(StrEnum):
    WORKSTATION = "workstation"
    SERVER = "server"
    ENDPOINT = "endpoint"


class Location(StrEnum):
    OFFICE = "office"
    HOME = "home"
    DATACENTER = "datacenter"
    OTHER = "other"


class ErrorReason(StrEnum):
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    UNSUPPORTED = "unsupported"
    COLLECTOR_FAILED = "collector_failed"
    CHECK_BUG = "check_bug"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"


@record
class ControlRef:
    """A control in an external catalogue, e.g. ControlRef("iso27001-2022", "8.24")."""

    framework: str
    control: str

    def __str__(self) -> str:
        return f"{self.framework}:{self.control}"


@record
class Target:
    """Something to audit.

    Attributes:
        name: unique in the inventory; names the evidence folder.
        kind: how it is reached (local, ssh, tls, replay).
        role / location / tags: what the profile scopes its rules by.
        options: kind-specific connection settings (host, port, user, sudo, ...), never secrets.
    """

    name: str
    kind: TargetKind
    role: Role = Role.WORKSTATION
    location: Location = Location.OFFICE
    tags: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@record
class SystemFacts:
    """What the runner needs to plan: detected, never guessed.

    Attributes:
        platform: linux, macos or windows (None when it could not be detected).
        os_name / os_version: from os-release, sw_vers or the Windows registry.
        hostname, architecture, kernel: as the host reports them.
        is_root: the scanning account (or sudo) has administrative rights.
    """

    platform: Platform | None
    os_name: str = ""
    os_version: str = ""
    os_id: str = ""
    hostname: str = ""
    architecture: str = ""
    kernel: str = ""
    is_root: bool = False


@record
class Verdict:
    """What a check returns for one resource: pass, fail, warn or not_applicable, with a sentence."""

    status: Status
    message: str
    resource: str = ""
    observed: Mapping[str, Any] = field(default_factory=dict)
    expected: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(
        cls, message: str, *, resource: str = "", observed: Mapping[str, Any] | None = None,
        expected: Mapping[str, Any] | None = None,
    ) -> Verdict:
        return cls(Status.PASS, message, resource, observed or {}, expected or {})

    @classmethod
    def failed(
        cls, message: str, *, resource: str = "", observed: Mapping[str, Any] | None = None,
        expected: Mapping[str, Any] | None = None,
    ) -> Verdict:
        return cls(Status.FAIL, message, resource, observed or {}, expected or {})

    @classmethod
    def warning(
        cls, message: str, *, resource: str = "", observed: Mapping[str, Any] | None = None,
        expected: Mapping[str, Any] | None = None,
    ) -> Verdict:
        return cls(Status.WARN, message, resource, observed or {}, expected or {})

    @classmethod
    def not_applicable(cls, message: str, *, resource: str = "") -> Verdict:
        return cls(Status.NOT_APPLICABLE, message, resource)


CheckFunc = Callable[..., "Verdict | Sequence[Verdict]"]


@record
class CheckSpec:
    """A check's metadata, attached by @check; `func` is the pure evaluation function.

    Attributes:
        facts: the collector names the check needs (its parameters that name collectors).
        params: the profile parameters the check reads (its other parameters).
        source: "file:line" of the definition, for messages.
        pack: the entry-point name of the pack that provided it.
        roles: the target roles it concerns; empty: every role.
    """

    id: str
    title: str
    severity: Severity
    requirements: tuple[str, ...]
    controls: tuple[ControlRef, ...]
    platforms: frozenset[Platform]
    target_kinds: frozenset[TargetKind]
    requires_root: bool
    remediation: str
    facts: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    source: str = ""
    pack: str = ""
    roles: frozenset[Role] = frozenset()
    func: CheckFunc | None = field(default=None, repr=False, compare=False)


@record
class EvidenceRef:
    """A pointer from a finding to one raw fact file in the run's evidence folder."""

    path: str  # relative to the run folder, e.g. "evidence/laptop/cmd-timedatectl_show.json"
    sha256: str
    source: str = ""  # the exact command or file path


@record
class Finding:
    """A check's verdict on one target (and resource), produced only by the runner."""

    check_id: str
    target: str
    status: Status
    message: str
    resource: str = ""
    requirements: tuple[str, ...] = ()
    observed: Mapping[str, Any] = field(default_factory=dict)
    expected: Mapping[str, Any] = field(default_factory=dict)
    evidence: tuple[EvidenceRef, ...] = ()
    skip_reason: str = ""
    error_reason: ErrorReason | None = None
    error: str = ""  # message and, for check bugs, the traceback text
    raw_status: Status | None = None  # the status before a waiver applied
    waiver: str = ""  # id of the waiver that turned a FAIL into WAIVED

    @property
    def shown_resource(self) -> str:
        """The resource to print beside the message: none when the message starts with it ("port 22: ..."), so
        that a line says it once."""
        return resource_beside(self.message, self.resource)


def resource_beside(message: str, resource: str) -> str:
    """`resource`, unless `message` already starts with it as a whole word ("port 22: ..." but not "port 2222")."""
    said = message.startswith(resource) and not message[len(resource):][:1].isalnum()
    return "" if said else resource


@record
class Scope:
    """Which targets a rule applies to: each listed dimension must match (any value within it)."""

    targets: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def matches(self, target: Target) -> bool:
        return (
            (not self.targets or target.name in self.targets)
            and (not self.roles or target.role.value in self.roles)
            and (not self.locations or target.location.value in self.locations)
            and (not self.tags or any(tag in self.tags for tag in target.tags))
        )

    def describe(self) -> str:
        parts = [f"{name}: {', '.join(values)}" for name, values in
                 (("targets", self.targets), ("roles", self.roles), ("locations", self.locations),
                  ("tags", self.tags)) if values]
        return "; ".join(parts) or "all targets"


@record
class Waiver:
    """A controller-approved exception: a FAIL of a matching check on a matching target becomes WAIVED.

    Attributes:
        check: a check id or a glob ("DISK-00*").
        expires: an aware date-time; a date alone in the profile means the end of that day in
            Europe/Copenhagen.
        where: file:line of the waiver in the profile, for messages.
    """

    id: str
    check: str
    scope: Scope
    reason: str
    approver: str
    created: date
    expires: datetime
    risk: str
    instruction: str = ""
    where: str = ""


@record
class WaiverUse:
    """How a waiver fared in a run: active (and how many findings it covered), expired, or unused."""

    waiver: Waiver
    state: str  # "active", "expired" or "unused"
    matched: tuple[str, ...] = ()  # "check_id@target" of the findings it covered (or would have, if expired)


@record
class Artefact:
    """A file attached to an attestation: only its path, size and SHA-256 go into the evidence."""

    path: str
    sha256: str
    size: int


@record
class Attestation:
    """A signed statement for a control no scan can prove (key locks, a restore test, the D-mærket award)."""

    id: str
    requirement: str
    check: str
    statement: str
    attestor: Mapping[str, str]
    attested_on: date
    next_review: date
    maturity: str = ""
    artefacts: tuple[Artefact, ...] = ()
    where: str = ""


@record
class TargetResult:
    target: Target
    system: SystemFacts | None
    findings: tuple[Finding, ...]
    connection_error: str = ""  # set: the target was not (fully) assessed
    error_reason: ErrorReason | None = None


@record
class Provenance:
    """When the facts a run judged were collected and, for a replay, the run that collected them.

    A scan collects and judges at once. A replay judges facts an earlier run collected (each record keeps its
    collected_at), so its own start is when they were re-evaluated, never when they were collected.

    Attributes:
        collected_from / collected_to: the earliest and latest collected_at of the host facts (None: no facts).
        source_started_at / source_finished_at: a replay's source run's times (None for a scan).
        source_profile_name / source_profile_sha256: the profile the source run was judged under.
    """

    collected_from: datetime | None = None
    collected_to: datetime | None = None
    source_started_at: datetime | None = None
    source_finished_at: datetime | None = None
    source_profile_name: str = ""
    source_profile_sha256: str = ""


@record
class ScanResult:
    run_id: str
    scanner_version: str
    started_at: datetime
    finished_at: datetime
    profile_name: str
    profile_sha256: str
    checks: Mapping[str, CheckSpec]  # metadata once; findings refer to it by id
    targets: tuple[TargetResult, ...]
    interrupted: bool = False
    replayed_from: str = ""  # the run id whose evidence was re-evaluated, for `auditor replay`
    organisation: tuple[Finding, ...] = ()  # organisation-wide findings: attestations (target "")
    waivers: tuple[WaiverUse, ...] = ()
    replayed_manifest: str = ""  # SHA-256 of that run's manifest.json, which pins every file it held
    replayed_signature: str = ""  # that run's signature when replayed: "valid", "absent" or "unchecked"
    provenance: Provenance = field(default_factory=Provenance)  # when its facts were collected (pipeline.py)

    def findings(self) -> list[Finding]:
        return [f for t in self.targets for f in t.findings] + list(self.organisation)
