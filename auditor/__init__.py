"""auditor: evidence that a data processor keeps the security measures it promised its controllers."""

from auditor import gc_settings, without_inspect

gc_settings.collect_rarely()  # before the imports of auditor's modules, which it makes quicker: see there
without_inspect.import_dataclasses()  # before any module of auditor imports dataclasses: see there

from auditor.models import (  # noqa: E402 - after dataclasses is imported
    CheckSpec,
    ControlRef,
    Finding,
    Platform,
    ScanResult,
    Severity,
    Status,
    Target,
    Verdict,
)

__all__ = [
    "CheckSpec",
    "ControlRef",
    "Finding",
    "Platform",
    "ScanResult",
    "Severity",
    "Status",
    "Target",
    "Verdict",
    "__version__",
]

# The one place the version is written (pyproject.toml reads it): asking importlib.metadata at start-up cost
# 25 ms of every command, `auditor --version` included.
__version__ = "0.1.0"
