"""Outputs tried before any work (auditor/preflight.py): what can be made is accepted without being made, what
cannot is refused naming the flag and the path the user gave."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.preflight import existing_file, writable_file, writable_folder, writable_parent


def test_a_folder_that_can_be_made_is_accepted_and_not_made(tmp_path):
    # Given nested folders that do not exist yet under a writable one
    wanted = tmp_path / "reports" / "2026" / "run"
    # When they are tried
    writable_folder(wanted, "--out")
    writable_file(tmp_path / "data" / "history.sqlite", "--history")
    # Then nothing was created, not even the probe file
    assert list(tmp_path.iterdir()) == []


def test_a_file_on_the_way_is_named_with_the_flag_and_the_path_given(tmp_path):
    # Given a file where a folder would have to be
    (tmp_path / "afile").write_text("x")
    # Then each kind of output names the flag, the path the user gave, and the file in the way
    with pytest.raises(InputError, match=r"--out .*afile/run: cannot be created: .*afile is not a folder"):
        writable_folder(tmp_path / "afile" / "run", "--out")
    with pytest.raises(InputError, match=r"--history .*afile/h.sqlite: cannot be created"):
        writable_file(tmp_path / "afile" / "h.sqlite", "--history")
    with pytest.raises(InputError, match=r"--out .*afile/b.bundle: cannot be created"):
        writable_parent(tmp_path / "afile" / "b.bundle", "--out")
    with pytest.raises(InputError, match="exists and is not a folder"):
        writable_folder(tmp_path / "afile", "--out")


def test_an_input_file_is_a_regular_file_that_is_there(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        existing_file(tmp_path / "missing.pub", "--seal-to", "give seal.pub")
    with pytest.raises(InputError, match="is a folder, not a file"):
        existing_file(tmp_path, "--seal-to", "give seal.pub")
    with pytest.raises(InputError, match="is not a regular file"):
        existing_file(Path("/dev/null"), "--seal-to", "give seal.pub")
