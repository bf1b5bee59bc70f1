"""The tool's own activity log: every command, one JSON line, chained with a MAC under a key kept with the
signing keys, and anchored in every run manifest.

Each entry carries `prev`, the MAC of the entry before it, and `mac`: HMAC-SHA256 under the log key
(`audit-log.key` in the key folder, made on first use) over the entry. A head record beside the log
(`<log>.head`, MACed as well) names the last entry. So an entry edited, removed, moved, copied or appended by
hand, lines cut off the end, an emptied log and another machine's log are all found by `verify`, which also
checks the log against the anchor each run manifest records: the entry that was last when the run began, and
the run's own entry after it.

A damaged end never stops a command: the next one writes a `segment` entry that says what was wrong and
starts a new chain after it, so it never chains onto an edited line, and `verify` reports the break for good.

Whoever can read the log key can rewrite the log and its head record; the anchors in run manifests, signed
with the passphrase-protected signing key, are what such a rewrite cannot reproduce. No secret is written:
secrets come from the environment or a prompt, and an argument that looks like one is redacted.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from auditor.bundle.keys import log_key
from auditor.bundle.layout import RUN_MANIFEST
from auditor.clock import Clock, iso
from auditor.data_home import default_key_dir
from auditor.files import write_atomic
from auditor.records import record
from auditor.transports.redaction import redact_text

try:
    import fcntl  # appends from two auditor processes at once are serialised; Windows has no flock
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

GENESIS = "0" * 64
HEAD_SUFFIX = ".head"
_TAIL_BYTES = 1 << 20  # an entry is a few hundred bytes; a last "line" longer than this is not ours
_FIRST_LOOK = 1 << 16  # the end read first: a long log is not read whole twice a command (1 ms each time)
_MAX_SHOWN = 20


@record
class _Key:
    secret: bytes

    @property
    def id(self) -> str:
        """Names the key in each entry without revealing it: tells another machine's log from an edited one."""
        return self.mac(b"auditor activity log key id")[:16]

    def mac(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()


def _place(path: Path) -> str:
    """Which log an anchor belongs to: runs anchored in a log elsewhere are not checked against this one."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def _anchor(key: _Key, path: Path, line: int, mac: str) -> str:
    """What a run manifest records: '<key id>:<log place>:<line>:<mac>' (line 0: the log was empty)."""
    return f"{key.id}:{_place(path)}:{line}:{mac}"


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def _sealed(key: _Key, body: dict[str, Any]) -> bytes:
    """One line: the body with its key id and MAC (over the body as written, without the MAC)."""
    body = {**body, "key_id": key.id}
    return _encode({**body, "mac": key.mac(_encode(body))})


def _authentic(key: _Key, entry: dict[str, Any], line: bytes) -> bool:
    """The MAC matches and the line is byte for byte what auditor wrote."""
    body = {k: v for k, v in entry.items() if k != "mac"}
    return hmac.compare_digest(str(entry.get("mac", "")), key.mac(_encode(body))) and _encode(entry) == line


def _head_tag(key: _Key, line: int, mac: str) -> str:
    return key.mac(f"head:{line}:{mac}".encode())


@record
class Appended:
    """What writing to the log gave: the anchor of the last entry, and why a new segment began ("" if none)."""

    anchor: str
    segment: str = ""


@record
class _End:
    """The end of the log as the appender sees it."""

    lines: int
    last_mac: str
    problem: str = ""  # why the chain cannot go on from here


def anchor(path: Path, *, clock: Clock, key_dir: Path | None = None) -> Appended:
    """The anchor a run manifest records (the last entry, before the run's own); a damaged end starts a new
    segment first, so a run is always anchored on an authentic entry."""
    key = _load_key(key_dir, create=True)
    with _locked(path) as handle:
        end = _end(handle, path, key)
        if not end.problem:
            return Appended(_anchor(key, path, end.lines, end.last_mac))
        line, mac = _start_segment(handle, path, key, end, clock)
        return Appended(_anchor(key, path, line, mac), _segment_note(path, end, line))


def append(path: Path, command: str, argv: Sequence[str], outcome: int, *, clock: Clock, run_id: str = "",
           targets: Sequence[str] = (), details: dict[str, Any] | None = None,
           key_dir: Path | None = None) -> Appended:
    """Append one entry (after a segment entry when the end was damaged); returns its anchor."""
    key = _load_key(key_dir, create=True)
    with _locked(path) as handle:
        end = _end(handle, path, key)
        line, prev, note = end.lines + 1, end.last_mac, ""
        if end.problem:
            segment_line, prev = _start_segment(handle, path, key, end, clock)
            line, note = segment_line + 1, _segment_note(path, end, segment_line)
        body = {**_who(clock), "seq": line, "command": command, "argv": [redact_text(a)[0] for a in argv],
                "targets": list(targets), "run_id": run_id, "exit": outcome, "prev": prev,
                **({"details": details} if details else {})}
        mac = _write(handle, path, key, body)
        return Appended(_anchor(key, path, line, mac), note)


def _who(clock: Clock) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container's uid without a passwd entry or $USER: still log the command
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return {"time": iso(clock.now()), "user": user, "host": socket.gethostname()}


def _start_segment(handle: IO[bytes], path: Path, key: _Key, end: _End, clock: Clock) -> tuple[int, str]:
    line = end.lines + 1
    return line, _write(handle, path, key, {**_who(clock), "seq": line, "segment": end.problem, "prev": GENESIS})


def _segment_note(path: Path, end: _End, line: int) -> str:
    return (f"the audit log {path} is damaged ({end.problem}); a new segment starts at line {line} "
            "(`auditor log verify` reports the break)")


def _write(handle: IO[bytes], path: Path, key: _Key, body: dict[str, Any]) -> str:
    """Append one sealed entry, then move the head record to it; returns the entry's MAC."""
    line = _sealed(key, body)
    size = os.fstat(handle.fileno()).st_size
    if size:
        handle.seek(size - 1)
        if handle.read(1) != b"\n":
            handle.write(b"\n")  # end a line cut short, so it stays one (damaged) line of its own
    handle.write(line + b"\n")
    handle.flush()
    os.fsync(handle.fileno())
    mac = str(json.loads(line)["mac"])
    record = {"line": body["seq"], "mac": mac, "key_id": key.id, "tag": _head_tag(key, body["seq"], mac)}
    write_atomic(_head_path(path), _encode(record) + b"\n")
    return mac


@contextmanager
def _locked(path: Path) -> Iterator[IO[bytes]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield handle


def _end(handle: IO[bytes], path: Path, key: _Key) -> _End:
    """Can the chain go on from the last line? Only from an authentic entry that the head record names."""
    size = os.fstat(handle.fileno()).st_size
    head = _read_head(path, key)
    if size == 0:
        if isinstance(head, tuple):
            return _End(0, GENESIS, f"the log is empty, but its head record names line {head[0]}: it was emptied")
        return _End(0, GENESIS) if head is None else _End(0, GENESIS, head)
    last, ended = _last_line(handle, size)
    problem = _entry_problem(key, last) or ("" if ended else "it is cut short (no line end)")
    if problem:
        lines = _count_lines(handle)
        return _End(lines, GENESIS, f"line {lines}: {problem}")
    entry = json.loads(last)
    problem = _head_problem(head, entry["seq"], str(entry["mac"]))
    if problem:
        return _End(_count_lines(handle), GENESIS, problem)
    return _End(entry["seq"], str(entry["mac"]))


def _last_line(handle: IO[bytes], size: int) -> tuple[bytes, bool]:
    """The last line (at most its last _TAIL_BYTES) and whether a line end follows it."""
    for look in (_FIRST_LOOK, _TAIL_BYTES):
        start = max(0, size - look)
        handle.seek(start)
        tail = handle.read()
        body = tail[:-1] if tail.endswith(b"\n") else tail
        if b"\n" in body or start == 0 or look == _TAIL_BYTES:  # the whole last line is in this look
            break
    return body.rsplit(b"\n", 1)[-1], tail.endswith(b"\n")


def _entry_problem(key: _Key, line: bytes) -> str:
    """Why a line is not an authentic entry of this log, or ""."""
    try:
        entry = json.loads(line)
    except ValueError:
        return "not a JSON entry"
    if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int):
        return "not an entry of this log"
    if "mac" not in entry:
        return "not keyed (no MAC): written by hand, or by an auditor before the log was keyed"
    if entry.get("key_id") != key.id:
        return (f"written under another log key ({entry.get('key_id')}; this machine's is {key.id}): "
                "another machine's log, or the key was replaced")
    if not _authentic(key, entry, line):
        return "edited: its MAC does not match what it says"
    return ""


def _head_problem(head: tuple[int, str] | str | None, line: int, mac: str) -> str:
    if head is None:
        return "the head record is missing: lines may have been cut off the end"
    if isinstance(head, str):
        return head
    if head[0] > line:
        return f"the log ends at line {line}, but its head record names line {head[0]}: the lines after it were removed"
    if head != (line, mac):
        return f"line {line} is not the entry the head record names (line {head[0]}): the end was replaced"
    return ""


def _count_lines(handle: IO[bytes]) -> int:
    handle.seek(0)
    count, last = 0, b"\n"
    while chunk := handle.read(1 << 20):
        count += chunk.count(b"\n")
        last = chunk[-1:]
    return count + (last != b"\n")


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + HEAD_SUFFIX)


def _read_head(path: Path, key: _Key) -> tuple[int, str] | str | None:
    """(line, mac) of the head record, None when there is none, or what is wrong with it."""
    try:
        record = json.loads(_head_path(path).read_bytes())
        line, mac = int(record["line"]), str(record["mac"])
        tag_ok = hmac.compare_digest(str(record["tag"]), _head_tag(key, line, mac))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return "the head record is damaged"
    if record.get("key_id") != key.id:
        return "the head record was written under another log key"
    return (line, mac) if tag_ok else "the head record was edited: its MAC does not match"


def _load_key(key_dir: Path | None, *, create: bool) -> _Key:
    secret = log_key(key_dir or default_key_dir(), create=create)
    if secret is None:
        raise FileNotFoundError(f"no activity log key in {key_dir or default_key_dir()}")
    return _Key(secret)


# ---- verify ---------------------------------------------------------------------------------------------------

@record
class RunAnchor:
    """A run manifest's anchor: where the log stood when the run began."""

    run_id: str
    folder: Path
    anchor: str


@record
class Problem:
    where: str  # "line 7", "lines 8-9", "the end", "run <id> (<folder>)", "" (the log as a whole)
    what: str


@record
class LogCheck:
    """What `verify` found: the problems (none: intact), how many runs were checked, and what was not."""

    lines: int
    problems: tuple[Problem, ...] = ()
    runs_checked: int = 0
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@record
class _Line:
    seq: int
    mac: str
    run_id: str
    authentic: bool


def run_anchors(folders: Iterable[Path]) -> list[RunAnchor]:
    """The anchor of each run folder that holds a run manifest (each folder once)."""
    found: dict[Path, RunAnchor] = {}
    for folder in folders:
        try:
            document = json.loads((folder / RUN_MANIFEST).read_bytes())
            found.setdefault(folder.resolve(), RunAnchor(str(document.get("run_id", "")), folder,
                                                         str(document.get("audit_log_head", ""))))
        except (OSError, ValueError, AttributeError):
            continue  # not a finished run; `auditor verify` says what is wrong with it
    return list(found.values())


def verify(path: Path, runs: Sequence[RunAnchor] = (), *, key_dir: Path | None = None) -> LogCheck:
    """Check every entry, the end against the head record, and each run's anchor; name every break."""
    data = path.read_bytes() if path.is_file() else b""
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    try:
        key = _load_key(key_dir, create=False)
    except FileNotFoundError:
        if not raw_lines and not runs:
            return LogCheck(0)
        where = key_dir or default_key_dir()
        return LogCheck(len(raw_lines), (Problem("", f"there is no activity log key in {where}: the log "
                                                 "cannot be authenticated (restore the key folder)"),))
    problems: list[Problem] = []
    lines: list[_Line] = []
    previous = GENESIS
    for number, raw in enumerate(raw_lines, start=1):
        what = _entry_problem(key, raw)
        if not what and number == len(raw_lines) and not data.endswith(b"\n"):
            what = "it is cut short (no line end)"
        entry = _parsed(raw)
        authentic = not what
        if authentic:
            what = _link_problem(entry, number, previous)
        lines.append(_Line(entry.get("seq", 0), str(entry.get("mac", "")), str(entry.get("run_id", "")), authentic))
        previous = str(entry.get("mac", ""))  # an edited line keeps its place in the chain: named once, not twice
        if what:
            problems.append(Problem(f"line {number}", what))
    shown = _grouped(problems)
    end = _end_problem(_read_head(path, key), lines[-1] if lines else None)
    if end:
        shown.append(Problem("the end", end))
    anchored, checked, notes = _check_anchors(key, path, runs, lines)
    return LogCheck(len(raw_lines), (*shown, *anchored), checked, tuple(notes))


def _parsed(raw: bytes) -> dict[str, Any]:
    try:
        entry = json.loads(raw)
    except ValueError:
        return {}
    return entry if isinstance(entry, dict) else {}


def _link_problem(entry: dict[str, Any], number: int, previous: str) -> str:
    """Why an authentic entry does not follow the line before it, or ""."""
    if "segment" in entry:
        return f"a new segment starts here, after a break: {entry['segment']}"
    if entry.get("prev") == previous:
        return ""
    if number == 1:
        return "it does not start a log: the lines before it were removed"
    return f"it does not follow line {number - 1}: lines were removed, moved or copied between them"


def _end_problem(head: tuple[int, str] | str | None, last: _Line | None) -> str:
    if last is None:
        return f"the log is empty, but its head record names line {head[0]}: it was emptied" \
            if isinstance(head, tuple) else (head or "")
    if not last.authentic:
        return ""  # already named at its line
    return _head_problem(head, last.seq, last.mac)


def _check_anchors(key: _Key, path: Path, runs: Sequence[RunAnchor],
                   lines: Sequence[_Line]) -> tuple[list[Problem], int, list[str]]:
    """Each run anchored in this log: its anchor entry is there, authentic, and the run's own entry follows it."""
    at = {line.mac: index + 1 for index, line in enumerate(lines) if line.authentic}
    problems: list[Problem] = []
    checked, elsewhere, unanchored = 0, 0, 0
    for run in runs:
        parts = run.anchor.split(":")
        if len(parts) != 4 or not parts[2].isdigit():
            unanchored += 1
            continue
        key_id, place, line, mac = parts[0], parts[1], int(parts[2]), parts[3]
        if place != _place(path):
            elsewhere += 1
            continue
        checked += 1
        where = f"run {run.run_id} ({run.folder})"
        start = 0 if line == 0 else at.get(mac)
        if key_id != key.id:
            problems.append(Problem(where, f"it was anchored in this log under another log key ({key_id}): the "
                                           "log key was replaced and the log rewritten"))
        elif start is None:
            problems.append(Problem(where, f"its anchor, entry {line} of the log, is missing or changed: the log "
                                           "was cut, rewritten or replaced after the run began"))
        elif not any(e.authentic and e.run_id == run.run_id for e in lines[start:]):
            problems.append(Problem(where, f"the log holds no entry for it after its anchor (entry {line}): the "
                                           "entry was removed, or auditor was stopped before writing it"))
    notes = []
    if elsewhere:
        notes.append(f"{elsewhere} run(s) are anchored in another log (another path or machine): not checked here")
    if unanchored:
        notes.append(f"{unanchored} run(s) carry no anchor this version can check (made before the log was keyed)")
    return problems, checked, notes


def _grouped(problems: Sequence[Problem]) -> list[Problem]:
    """Consecutive lines with the same problem as one range; at most _MAX_SHOWN, then how many more."""
    grouped: list[tuple[int, int, str]] = []
    for problem in problems:
        number = int(problem.where.split()[1])
        if grouped and grouped[-1][2] == problem.what and grouped[-1][1] == number - 1:
            grouped[-1] = (grouped[-1][0], number, problem.what)
        else:
            grouped.append((number, number, problem.what))
    shown = [Problem(f"line {a}" if a == b else f"lines {a}-{b}", what) for a, b, what in grouped[:_MAX_SHOWN]]
    if len(grouped) > _MAX_SHOWN:
        shown.append(Problem(f"line {grouped[_MAX_SHOWN][0]} on", f"{len(grouped) - _MAX_SHOWN} more breaks"))
    return shown
