"""Hostile YAML input (auditor/yamlfile.py): every refusal is one InputError line naming file:line:column, and
nothing a file holds can make the loader hang, run out of memory, or echo more than a short token."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.yamlfile import MAX_INPUT_BYTES, MAX_NODES, load_yaml, parse_yaml, quote_key, token


def _refusal(text: str, file: str = "f.yaml") -> str:
    with pytest.raises(InputError) as caught:
        parse_yaml(text, file, "inventory")
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{file}:")
    return message


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_at_once_in_bounded_memory():
    # Given 9^12 (282 billion) "lol"s written in 12 lines of aliases
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    # When it is parsed, Then it is refused naming the first value that expands beyond the cap
    message = _refusal(_laughs(12))
    assert f"more than {MAX_NODES:,} values" in message and message.startswith("f.yaml:6:5:")  # 9^6 > the cap
    # And no expansion took place: well under a second and no memory to speak of
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


def test_aliases_within_the_cap_still_work():
    # Given a document that reuses one list through an alias a few times
    doc = parse_yaml("base: &b [x, y]\nfirst: *b\nsecond: *b\n", "f.yaml", "inventory")
    # Then it loads as safe_load would, with the positions of the first path
    assert doc.data == {"base": ["x", "y"], "first": ["x", "y"], "second": ["x", "y"]}
    assert doc.where("base", 1) == "f.yaml:1:14"


def test_an_alias_inside_its_own_anchor_is_refused():
    assert "refers to the value that contains it" in _refusal("a: &loop [1, *loop]\n")


def test_deep_nesting_is_refused_before_any_recursion():
    message = _refusal("a: " + "[" * 200 + "]" * 200 + "\n")
    assert "nested more than" in message or "nesting depth" in message


@pytest.mark.parametrize(("text", "where", "words"), [
    ("created: 2026-02-30\n", "f.yaml:1:10", "'2026-02-30' is not a calendar date"),
    ("created: 2026-31-12\n", "f.yaml:1:10", "'2026-31-12' is not a calendar date"),
    ("a:\n  next_review: 2026-13-01\n", "f.yaml:2:16", "'2026-13-01' is not a calendar date"),
    ("at: 2026-01-01T25:00:00Z\n", "f.yaml:1:5", "hour must be in 0..23"),
    ("n: !!float x\n", "f.yaml:1:4", "'x' is not a number"),
    ("n: !!int zz\n", "f.yaml:1:4", "'zz' is not an integer"),
    ("d: !!timestamp tomorrow\n", "f.yaml:1:4", "'tomorrow' is not a calendar date"),
    ("x: !foo bar\n", "f.yaml:1:4", "tag '!foo' is not used in auditor files"),
    ("x: !foo {a: 1}\n", "f.yaml:1:4", "tag '!foo' is not used"),
    ("x: !!python/object/apply:os.system [id]\n", "f.yaml:1:4", "is not used in auditor files"),
    ("x: !!binary aGVsbG8=\n", "f.yaml:1:4", "tag '!!binary' is not used"),
    ("x: !!set {a}\n", "f.yaml:1:4", "tag '!!set' is not used"),
    ("n: " + "9" * 5000 + "\n", "f.yaml:1:4", "is not an integer"),
])
def test_constructor_errors_name_line_and_column(text, where, words):
    # Given a value YAML's constructor cannot build (or auditor does not accept)
    message = _refusal(text)
    # Then the one line names the value's own position and what is wrong with it
    assert message.startswith(where + ":") and words in message


@pytest.mark.parametrize(("text", "where"), [
    ("a: b\x00c\n", "f.yaml:1:5"),
    ("æøå: 1\nb: \x07\n", "f.yaml:2:4"),  # after non-ASCII text: libyaml counts bytes, the line:col are characters
    ("a: 1\nb: x\x1b[2Jy\n", "f.yaml:2:5"),
])
def test_a_control_character_is_one_line_with_its_position(text, where):
    message = _refusal(text)
    assert message.startswith(where + ": not valid YAML: character U+")
    assert "\x1b" not in message and "\x00" not in message


def test_an_unknown_tag_longer_than_a_token_is_cut_short():
    message = _refusal("x: !" + "t" * 5000 + " y\n")
    assert len(message) < 300 and "…" in message


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: os.mkfifo(p), r"a named pipe \(FIFO\), not a regular file"),
    (lambda p: p.mkdir(), "a folder, not a regular file"),
])
def test_only_regular_files_are_read(tmp_path, make, words):
    # Given a FIFO nobody writes to (reading it would block forever), or a folder
    path = tmp_path / "inventory.yaml"
    make(path)
    # When it is loaded, Then it is refused at once, without reading
    started = time.monotonic()
    with pytest.raises(InputError, match=words) as caught:
        load_yaml(path, "inventory")
    assert time.monotonic() - started < 2 and str(caught.value).startswith(str(path))


def test_a_device_is_refused_before_a_byte_is_read():
    with pytest.raises(InputError, match="inventory is a device, not a regular file"):
        load_yaml("/dev/zero", "inventory")


def test_a_file_larger_than_the_cap_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# padding\n" * (MAX_INPUT_BYTES // 10 + 1))
    with pytest.raises(InputError, match="larger than 1 MiB"):
        load_yaml(path, "profile")


def test_a_file_that_is_not_utf8_names_the_line_and_column(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: ok\nowner: Søren\n".encode("latin-1"))
    with pytest.raises(InputError) as caught:
        load_yaml(path, "profile")
    assert str(caught.value).startswith(f"{path}:2:9: cannot read profile file: not UTF-8 text (byte 0xf8)")


def test_the_wrong_file_is_never_echoed():
    # Given a shadow file read as a profile: each line is one long mapping key
    shadow = "root:$y$j9T$PxVqmabcdefghijklmnop$Zz0123456789abcdefghijklmnopqrstuvwxyzABCD:20228:0:99999:7:::\n"
    doc = parse_yaml(shadow, "/etc/shadow", "profile")
    # When an unknown key is reported, Then only its length shows, not the line
    with pytest.raises(InputError) as caught:
        doc.mapping(allowed={"extends", "name"})
    assert "$y$" not in str(caught.value) and "(94 characters, not a key name)" in str(caught.value)


def test_tokens_are_short_and_escaped():
    assert token("a" * 100) == repr("a" * 40 + "…")
    assert token("evil\x1b]0;title\x07") == "'evil\\x1b]0;title\\x07'"
    assert quote_key("extend") == "'extend'"
    assert quote_key("x\ny") == "(3 characters, not a key name)"


def test_an_input_error_is_always_one_line():
    error = InputError("bad\nvalue \x1b[31mred", "file\n.yaml:1:1", "fix\rit")
    assert str(error) == "file\\n.yaml:1:1: bad\\nvalue \\x1b[31mred; fix\\rit"


def test_one_byte_over_the_cap_is_refused(tmp_path):
    # Given a regular file exactly one byte over the cap
    path = tmp_path / "p.yaml"
    path.write_bytes(b"a: 1\n" + b" " * (MAX_INPUT_BYTES - 4))
    assert Path(path).stat().st_size == MAX_INPUT_BYTES + 1
    with pytest.raises(InputError, match="larger than"):
        load_yaml(path, "profile")
