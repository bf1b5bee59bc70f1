"""auditor/entry_points.py reads installed entry points as importlib.metadata does, without importing it."""

from __future__ import annotations

import importlib.metadata
import sys
import zipfile

import pytest

from auditor.entry_points import entry_points


def _pairs(found) -> list[tuple[str, str]]:
    return sorted((e.name, e.value) for e in found)


def test_every_group_of_this_environment_reads_as_importlib_metadata_reads_it():
    groups = sorted(importlib.metadata.entry_points().groups)
    assert "auditor.checks" in groups and len(groups) > 5
    for group in groups:
        assert _pairs(entry_points(group)) == _pairs(importlib.metadata.entry_points(group=group)), group


def _pack(folder, distribution: str, value: str) -> None:
    info = folder / f"{distribution}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "entry_points.txt").write_text(f"[auditor.checks]\nAcme_Pack = {value}\n\n[other]\nx = y\n")


def test_a_third_party_pack_is_found_and_loaded_and_the_first_on_sys_path_wins(tmp_path, monkeypatch):
    # Given a pack installed in two folders on sys.path (the first one wins, as with importlib.metadata)
    first, second = tmp_path / "first", tmp_path / "second"
    _pack(first, "acme_audit_checks", "acme_checks:PACK")
    _pack(second, "Acme.Audit_Checks", "elsewhere:PACK")  # the same distribution, named otherwise
    (first / "acme_checks.py").write_text("import types\nPACK = types.SimpleNamespace(name='acme')\n")
    monkeypatch.setattr(sys, "path", [str(first), str(second), str(tmp_path / "missing"), *sys.path])
    monkeypatch.delitem(sys.modules, "acme_checks", raising=False)
    # When the check packs are listed
    found = [e for e in entry_points("auditor.checks") if e.name == "Acme_Pack"]
    # Then the first folder's pack is the one, its name kept as written, and it loads
    assert [(e.name, e.value) for e in found] == [("Acme_Pack", "acme_checks:PACK")]
    assert found[0].load().name == "acme"
    assert _pairs(found) == _pairs(e for e in importlib.metadata.entry_points(group="auditor.checks")
                                   if e.name == "Acme_Pack")


def test_a_zip_on_sys_path_is_read_by_importlib_metadata(tmp_path, monkeypatch):
    # Given a pack that is installed only inside a zip on sys.path
    archive = tmp_path / "packs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped_pack-1.0.dist-info/METADATA", "Name: zipped_pack\nVersion: 1.0\n")
        zipped.writestr("zipped_pack-1.0.dist-info/entry_points.txt", "[auditor.checks]\nzipped = zipped_pack\n")
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    # Then it is found all the same
    assert ("zipped", "zipped_pack") in _pairs(entry_points("auditor.checks"))


@pytest.mark.parametrize("text", ["not an ini file at all", "[auditor.checks]\n= no name\n", "\udcff"])
def test_a_damaged_entry_points_file_is_passed_over(tmp_path, monkeypatch, text):
    info = tmp_path / "broken-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text(text, errors="surrogateescape")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert "builtin" in [e.name for e in entry_points("auditor.checks")]
