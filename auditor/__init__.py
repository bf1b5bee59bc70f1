"""auditor: evidence that a data processor keeps the security measures it promised its controllers."""

import importlib.metadata as _metadata

from auditor.models import (
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

try:
    __version__ = _metadata.version("auditor")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
