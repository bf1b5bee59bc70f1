"""Control catalogues (ISO/IEC 27001:2022 Annex A, CIS Controls v8, D-mærket) shipped as YAML data.

Every control a requirement or a check cites must exist here; a typo is refused when the profile or
the check pack is loaded, not discovered in a report.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from auditor.records import record
from auditor.yamlfile import load_package_yaml

CATALOGUES = Path(__file__).parent / "catalogues"


@record
class Framework:
    name: str  # "iso27001-2022"
    title: str  # "ISO/IEC 27001:2022 Annex A"
    controls: Mapping[str, str]  # control id -> title


@functools.cache
def frameworks() -> Mapping[str, Framework]:
    """Every shipped catalogue, keyed by framework name (read once; the files are package data)."""
    loaded: dict[str, Framework] = {}
    for path in sorted(CATALOGUES.glob("*.yaml")):
        doc = load_package_yaml(path, "catalogue")
        data = doc.mapping(allowed={"framework", "title", "controls"})
        loaded[data["framework"]] = Framework(data["framework"], data["title"],
                                              {str(k): str(v) for k, v in data["controls"].items()})
    return loaded


def control_title(framework: str, control: str) -> str:
    """The title of a control, or "" when it is not in the catalogue."""
    catalogue = frameworks().get(framework)
    return catalogue.controls.get(control, "") if catalogue else ""
