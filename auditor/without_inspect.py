"""dataclasses, imported without importing inspect: 7 ms of every command's start.

Python's dataclasses imports inspect (and with it ast, dis and tokenize) for a single call, inspect.signature,
which it makes only to write a docstring for a dataclass that has none. So dataclasses is imported with a
stand-in for inspect in sys.modules, removed as soon as dataclasses has it: any other `import inspect` gets the
real module, and the stand-in imports the real module (thread-safely, through the import system's lock) the
first time dataclasses asks it for anything. Nothing else changes: an undocumented dataclass gets its docstring
as before. auditor's own records need no signature (auditor/records.py), and neither does the registry
(auditor/registry.py), so a scan never imports inspect.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _ImportedOnFirstUse(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self.__name__), name)


def import_dataclasses() -> None:
    """Import dataclasses, unless it or inspect is imported already (then there is nothing to save)."""
    if "dataclasses" in sys.modules or "inspect" in sys.modules:
        return
    stand_in = _ImportedOnFirstUse("inspect")
    sys.modules["inspect"] = stand_in
    try:
        import dataclasses  # noqa: F401 - imported for its place in sys.modules
    finally:
        if sys.modules.get("inspect") is stand_in:
            del sys.modules["inspect"]
