"""The YAML files shipped inside auditor are read by libyaml alone (yamlfile.load_package_yaml): each must read
the same as through the full loader, which refuses duplicate keys and bad values, and an error about one of its
values still names the file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import auditor
from auditor.errors import InputError
from auditor.yamlfile import compile_package_yaml, load_package_yaml, load_yaml

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


def test_every_shipped_file_has_a_compiled_copy_that_reads_the_same(tmp_path):
    # Given copies of the shipped folders, compiled as `make setup` compiles them
    folders = []
    for folder in sorted({p.parent for p in SHIPPED}):
        shutil.copytree(folder, tmp_path / folder.name)
        folders.append(tmp_path / folder.name)
    written = compile_package_yaml(folders)
    # Then each file has its copy, and reads from it the data the full loader reads from the YAML
    assert sorted(p.name for p in written) == sorted(f"{p.name}.json" for p in SHIPPED)
    for path in (p for folder in folders for p in folder.glob("*.yaml")):
        assert load_package_yaml(path, "profile").data == load_yaml(path, "profile").data


def test_the_compiled_copy_answers_only_while_it_holds_the_file_s_hash(tmp_path):
    # Given a compiled file whose copy is then made to say something else, under the file's own hash
    path = tmp_path / "shipped.yaml"
    path.write_text("name: from-yaml\n")
    (copy,) = compile_package_yaml([tmp_path])
    copy.write_bytes(copy.read_bytes().replace(b"from-yaml", b"from-copy"))
    # Then the copy answers (it is what is read), until the file changes: then the YAML does
    assert load_package_yaml(path, "profile").data == {"name": "from-copy"}
    path.write_text("name: edited\n")
    assert load_package_yaml(path, "profile").data == {"name": "edited"}
    # And a copy that is not JSON, or not of this form, is passed over for the YAML
    for broken in (b"{", b"[1]", b'{"sha256": 1}'):
        copy.write_bytes(broken)
        assert load_package_yaml(path, "profile").data == {"name": "edited"}


def test_a_file_json_cannot_hold_as_it_is_gets_no_compiled_copy(tmp_path):
    # A date (JSON would make it a string) and a number as a key (a string in JSON) are read from the YAML itself
    (tmp_path / "dated.yaml").write_text("since: 2026-01-01\n")
    (tmp_path / "numbered.yaml").write_text("1: one\n")
    (tmp_path / "plain.yaml").write_text("name: x\n")
    assert [p.name for p in compile_package_yaml([tmp_path])] == ["plain.yaml.json"]
