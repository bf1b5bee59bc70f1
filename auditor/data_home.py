"""Where auditor keeps its own files between runs: the activity log, the run history and the keys.

Apart from the modules that use them, so that every command can name them as its defaults without importing
SQLite or the signing code.
"""

from __future__ import annotations

import os
from pathlib import Path


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_log_path() -> Path:
    return Path(os.environ.get("AUDITOR_AUDIT_LOG") or _data_home() / "auditor" / "audit.log")


def default_history_path() -> Path:
    return Path(os.environ.get("AUDITOR_HISTORY") or _data_home() / "auditor" / "history.sqlite")


def default_key_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "auditor" / "keys"
