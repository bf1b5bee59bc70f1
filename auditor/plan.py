"""The plan: which checks apply to a target, which collectors they need, whether a login is needed, and
every skip with its reason.

Planning happens in two steps, because some reasons are known only once the target answers:
`plan_target` runs before anything is touched (the user's selection, the profile's tailoring and scope,
`auth: none`, a check meant for other roles, and so whether to log in at all); `TargetPlan.for_system` narrows
the plan once the target's platform and rights are known. Every check either runs or is skipped with a sentence
that says why; a check meant for other roles (LOCK-0010 on a server) is not applicable, and its facts are never
collected on that target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field

from auditor.collectors import COLLECTORS, SYSTEM
from auditor.models import CheckSpec, Status, SystemFacts, Target
from auditor.plugin import HOSTS
from auditor.profile import Profile
from auditor.records import record


@record
class Selection:
    """The user's choice of checks: `only` these (None: all), minus `skip` (each skipped with that reason)."""

    only: frozenset[str] | None = None
    skip: frozenset[str] = field(default_factory=frozenset)


@record
class Skip:
    """A check that does not run on a target: skipped, or not applicable (a check meant for other roles)."""

    check: CheckSpec
    reason: str
    status: Status = Status.SKIPPED


@record
class TargetPlan:
    """Attributes:
    target: what is planned for.
    checks: the checks still to run once the system is known (not skipped before connecting).
    skipped: the checks skipped before connecting, each with its reason.
    login: some check needs facts that only a login gives; False: only what the network shows is gathered.
    """

    target: Target
    checks: tuple[CheckSpec, ...]
    skipped: tuple[Skip, ...]
    login: bool

    @property
    def detects_system(self) -> bool:
        """A host we log in to has its system detected first; an endpoint or a network-only host has none."""
        return self.target.kind in HOSTS and self.login

    def without_login(self) -> tuple[TargetPlan, tuple[CheckSpec, ...]]:
        """For a target whose login failed: the checks that need none, as a plan of their own; and the others."""
        network = tuple(spec for spec in self.checks if not needs_login([spec]))
        return (TargetPlan(self.target, network, self.skipped, login=False),
                tuple(spec for spec in self.checks if spec not in network))

    def for_system(self, system: SystemFacts) -> tuple[list[CheckSpec], list[Skip]]:
        """The checks that run on this system, and those skipped because of it."""
        runnable: list[CheckSpec] = []
        skipped: list[Skip] = []
        for spec in self.checks:
            reason = self._system_reason(spec, system)
            if reason:
                skipped.append(Skip(spec, reason))
            else:
                runnable.append(spec)
        return runnable, skipped

    def _system_reason(self, spec: CheckSpec, system: SystemFacts) -> str:
        if not self.detects_system:
            return ""
        if system.platform is None:
            return "the target's platform could not be detected"
        if system.platform not in spec.platforms:
            runs_on = ", ".join(sorted((p.name_in_text for p in spec.platforms), key=str.lower))
            return f"Runs only on {runs_on}; this target runs {system.platform.name_in_text}."
        if spec.requires_root and not system.is_root and not self.target.options.get("sudo"):
            return "needs root; run the scan as root or set sudo: true for this target"
        return ""


def collectors_for(checks: Iterable[CheckSpec]) -> list[str]:
    """The collectors these checks need, each once, in the checks' order (the system is gathered apart)."""
    return list(dict.fromkeys(name for spec in checks for name in spec.facts if name != SYSTEM))


def needs_login(checks: Iterable[CheckSpec]) -> bool:
    """Some check needs a fact that only a login gives (the detected system counts: it needs one too)."""
    return any(COLLECTORS[name].needs_login for spec in checks for name in spec.facts)


def plan_target(target: Target, checks: Mapping[str, CheckSpec], profile: Profile,
                selection: Selection) -> TargetPlan:
    """What can be decided about `target` before touching it."""
    kept: list[CheckSpec] = []
    skipped: list[Skip] = []
    for spec in checks.values():
        if target.kind not in spec.target_kinds or (selection.only is not None and spec.id not in selection.only):
            continue
        reason = _early_reason(spec, target, profile, selection)
        if reason:
            skipped.append(Skip(spec, reason))
        elif spec.roles and target.role not in spec.roles:
            skipped.append(Skip(spec, _other_roles(spec, target), Status.NOT_APPLICABLE))
        else:
            kept.append(spec)
    login = target.kind in HOSTS and not _network_only(target) and needs_login(kept)
    return TargetPlan(target, tuple(kept), tuple(skipped), login)


def _other_roles(spec: CheckSpec, target: Target) -> str:
    roles = " or ".join(sorted(spec.roles))  # each a catalogued word, so the Danish report translates it
    return f"Only targets with the role {roles} are checked; this target's role is {target.role}."


def _network_only(target: Target) -> bool:
    """`auth: none`: we may not log in, so only what is seen from the network is assessed."""
    return target.options.get("auth") == "none"


def _early_reason(spec: CheckSpec, target: Target, profile: Profile, selection: Selection) -> str:
    if spec.id in selection.skip:
        return f"excluded by --skip {spec.id}"
    tailoring = profile.checks.get(spec.id)
    if tailoring and not tailoring.enabled:
        return f"removed by the profile ({tailoring.where})"
    if tailoring and not tailoring.scope.matches(target):
        return f"outside the profile's scope for this check ({tailoring.scope.describe()})"
    if _network_only(target) and needs_login([spec]):
        return "auth: none: only checks seen from the network run"
    return ""
