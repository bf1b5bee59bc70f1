"""The YAML files shipped inside auditor are read by libyaml alone (yamlfile.load_package_yaml): each must read
the same as through the full loader, which refuses duplicate keys and bad values, and an error about one of its
values still names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

import auditor
from auditor.errors import InputError
from auditor.yamlfile import load_package_yaml, load_yaml

SHIPPED = sorted(Path(auditor.__file__).parent.rglob("*.yaml"))


def test_auditor_ships_its_profile_and_catalogues_as_yaml():
    assert {p.parent.name for p in SHIPPED} == {"profiles", "catalogues"} and len(SHIPPED) >= 4


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_shipped_file_reads_the_same_as_through_the_full_loader(path):
    assert load_package_yaml(path, "profile").data == load_yaml(path, "profile").data


def test_an_error_about_a_shipped_value_names_its_file_and_line(tmp_path):
    # Given a file read the quick way, with a key on its third line
    path = tmp_path / "shipped.yaml"
    path.write_text("name: x\nparameters:\n  retention_days: {type: int}\n")
    doc = load_package_yaml(path, "profile")
    # Then a value's error, and an unknown key's, find their positions when they are raised
    assert str(doc.error("is wrong", "parameters", "retention_days")).startswith(f"{path}:3:19")
    with pytest.raises(InputError, match=rf"^{path}:2:1: unknown key 'parameters'"):
        doc.mapping(allowed={"name"})
