"""Everything a check author imports. A check is a decorated pure function:

    from auditor.plugin import ControlRef, Severity, Verdict, check
    from auditor.collectors.timesync import TimeSyncFacts

    @check(id="LOG-0040", title="The system clock is synchronised", severity=Severity.MEDIUM,
           requirements=("R12",), controls=(ControlRef("iso27001-2022", "8.17"),),
           remediation="Enable systemd-timesyncd or chrony.")
    def clock_synchronised(timesync: TimeSyncFacts) -> Verdict: ...

Parameters name what the check needs: a collector (its facts), a profile parameter (its value), or
`target` (role, location, tags). The decorator only attaches metadata and returns the function
unchanged; the registry validates it when the pack is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from auditor.models import ControlRef, Platform, Role, Severity, Status, Target, TargetKind, Verdict

__all__ = ["CHECK_ATTRIBUTE", "ControlRef", "Platform", "Role", "Severity", "Status", "Target", "TargetKind",
           "Verdict", "check"]

CHECK_ATTRIBUTE = "__auditor_check__"
HOSTS = (TargetKind.LOCAL, TargetKind.SSH)
F = TypeVar("F", bound=Callable[..., Any])


def check(
    *,
    id: str,
    title: str,
    severity: Severity,
    remediation: str,
    requirements: Iterable[str] = (),
    controls: Iterable[ControlRef] = (),
    platforms: Iterable[Platform] = tuple(Platform),
    target_kinds: Iterable[TargetKind] = HOSTS,
    requires_root: bool = False,
    roles: Iterable[Role] = (),
) -> Callable[[F], F]:
    """Mark a function as a check. Validation happens at load time, with the pack and file:line named.

    roles: the target roles the check concerns (empty: every role). On a target of another role the check is not
    applicable, decided before the target is touched, so its facts are not collected there.
    """

    def mark(func: F) -> F:
        setattr(func, CHECK_ATTRIBUTE, {
            "id": id, "title": title, "severity": severity, "remediation": remediation,
            "requirements": tuple(requirements), "controls": tuple(controls), "platforms": tuple(platforms),
            "target_kinds": tuple(target_kinds), "requires_root": requires_root, "roles": tuple(roles),
        })
        return func

    return mark
