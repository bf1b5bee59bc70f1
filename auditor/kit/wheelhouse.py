"""Fill a wheelhouse with the core's dependency wheels for every kit platform and Python version, once.

`make test` runs it as setup (like apt): the kit tests then build kits from it with `--wheelhouse`, offline.
Usage: python -m auditor.kit.wheelhouse DIR   (does nothing when DIR already holds this set)
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import auditor
from auditor.kit.build import PLATFORMS, PYTHON_VERSIONS, download

_DONE = ".complete"


def core_requirements() -> list[str]:
    """auditor's own dependencies without the extras, from the source tree's pyproject.toml (an egg-info left in
    the working directory would shadow the installed metadata)."""
    pyproject = Path(auditor.__file__).resolve().parents[1] / "pyproject.toml"
    requirements: list[str] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return requirements


def fill(dest: Path) -> bool:
    """Download what is missing; False when the wheelhouse already held this set."""
    wanted = json.dumps({"requires": core_requirements(), "platforms": PLATFORMS, "python": PYTHON_VERSIONS})
    done = dest / _DONE
    if done.is_file() and done.read_text(encoding="utf-8") == wanted:
        return False
    dest.mkdir(parents=True, exist_ok=True)
    for machines in PLATFORMS.values():
        for platforms in machines:
            for version in PYTHON_VERSIONS:
                download(core_requirements(), dest, platforms, version, None)
    done.write_text(wanted, encoding="utf-8")
    return True


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m auditor.kit.wheelhouse DIR")
    if fill(Path(sys.argv[1])):
        sys.stderr.write(f"wheelhouse filled: {sys.argv[1]}\n")
