"""Which sshd daemons run, on which ports, and with which options: from ss, ps, /proc and the systemd unit.

A listening sshd is the process that holds the listening socket (`ss -tlnp`, which names processes only to
root) or, where ss cannot say, an sshd process whose parent is not an sshd (per-connection children are). Its
options come from /proc/<pid>/cmdline: NUL-separated as started, or, since OpenSSH 8.2 retitles the listener,
one line "sshd: /usr/sbin/sshd -D -f /etc/x [listener] 0 of 10-100 startups" whose words are split at blanks
(a path with a blank in it cannot be told apart). The systemd unit's ExecStart, with $VARIABLES from its
Environment= and EnvironmentFile= lines (/etc/default/ssh's SSHD_OPTS, RHEL's OPTIONS and CRYPTO_POLICY), gives
exact words when its expansion reads the same as that line, and the options of a daemon that is not running.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import field

from auditor.collectors.listeners import parse_local_address
from auditor.records import record
from auditor.transports.base import FileContent

DEFAULT_CONFIG = "/etc/ssh/sshd_config"
UNITS = ("ssh.service", "sshd.service")
# Where a unit file may be (first found wins, as systemd's search path orders them) and its drop-in folders.
UNIT_FOLDERS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
ENVIRONMENT_FILES = ("/etc/default/ssh", "/etc/sysconfig/sshd", "/etc/crypto-policies/back-ends/opensshserver.config")
# sshd's options that take an argument (sshd.c getopt string), and those that change its configuration.
_WITH_ARGUMENT = frozenset("CEbcfghkopu")
_TITLE = re.compile(r"^sshd: (?P<argv>.*?)(?: \[listener\].*)?$", re.DOTALL)
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_SS_PROCESS = re.compile(r'\("([^"]*)",pid=(\d+)')


@record
class Options:
    """What a daemon's command line changes: its config file, `-o` lines, ports and the sshd -T arguments."""

    config: str = DEFAULT_CONFIG
    lines: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    arguments: tuple[str, ...] = ()  # the options to repeat to `sshd -T` (-f, -o, -p, -g, -h, -c, -4, -6)
    relative: str = ""  # a `-f` path as written when it is relative (`config` then resolves it against /)


@record
class Daemon:
    """Attributes:
    pid: the listening process (None: not running, judged as its unit would start it).
    uid: the process's owner (None when unknown).
    argv: its command line, words as well as they could be told apart.
    options: what those words change.
    ports: the ports ss saw it listen on (empty when ss could not see its sockets).
    found: how it was found, for the evidence ("ss", "ps", "ssh.service", "default").
    notes: what is uncertain about it (an unreadable /proc/<pid>/cmdline).
    """

    pid: int | None
    uid: int | None
    argv: tuple[str, ...]
    options: Options
    ports: tuple[int, ...] = ()
    found: str = "default"
    notes: tuple[str, ...] = field(default=())


def parse_options(argv: Sequence[str], title: bool = False) -> Options:
    """sshd's getopt over argv[1:]: -f/-o/-p/-g/-h/-c/-4/-6 kept, the rest (-D, -e, ...) dropped.

    `title`: the words come from a retitled command line, so an `-o Keyword value` that the blank split apart
    is put together again.
    """
    words = list(argv[1:])
    config, lines, ports, arguments, relative = DEFAULT_CONFIG, [], [], [], ""
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word == "-":
            continue
        for position in range(1, len(word)):
            flag = word[position]
            if flag not in _WITH_ARGUMENT:
                if flag in "46":
                    arguments.append(f"-{flag}")
                    lines.append(f"AddressFamily {'inet' if flag == '4' else 'inet6'}")
                continue
            value = word[position + 1:]
            if not value and i < len(words):
                value, i = words[i], i + 1
            if flag == "o" and title and "=" not in value and " " not in value and i < len(words) \
                    and not words[i].startswith("-"):
                value, i = f"{value} {words[i]}", i + 1
            if flag == "f":
                # Once started, every sshd works in / (-D or not: sshd.c chdir("/")), and reads a relative
                # path from there when it reloads; the folder it was started in leaves no trace.
                config, relative = (value, "") if value.startswith("/") else (f"/{value}", value)
                arguments += ["-f", config]
            elif flag == "o":
                lines.append(value)
                arguments += ["-o", value]
            elif flag == "p" and value.isdigit():
                ports.append(int(value))
                arguments += ["-p", value]
            elif flag in "ghc":
                lines += [f"LoginGraceTime {value}"] if flag == "g" else \
                    [f"HostKey {value}"] if flag == "h" else [f"HostCertificate {value}"]
                arguments += [f"-{flag}", value]
            break
    return Options(config, tuple(lines), tuple(ports), tuple(arguments), relative)


def parse_cmdline(data: bytes) -> tuple[tuple[str, ...], bool]:
    """/proc/<pid>/cmdline -> (words, retitled?)."""
    text = data.decode("utf-8", "surrogateescape").rstrip("\x00")
    words = text.split("\x00")
    if len(words) == 1:
        title = _TITLE.match(words[0])
        if title:
            return tuple(title.group("argv").split()), True
        return tuple(words[0].split()), False
    return tuple(words), False


def sshd_sockets(ss: str) -> dict[int, list[int]]:
    """pid -> ports of the TCP sockets sshd listens on, from `ss -H -tulpn` (only root sees the pids)."""
    found: dict[int, list[int]] = {}
    for line in ss.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[0] != "tcp":
            continue
        local = parse_local_address(fields[4])
        for name, pid in _SS_PROCESS.findall(" ".join(fields[6:])):
            if local is not None and name == "sshd":
                ports = found.setdefault(int(pid), [])
                ports += [] if local[2] in ports else [local[2]]
    return found


@record
class Process:
    """An sshd process as `ps -ww -C sshd -o pid=,ppid=,uid=,args=` shows it."""

    pid: int
    parent: int
    uid: int | None
    args: str

    @property
    def title(self) -> tuple[str, ...] | None:
        """The words of a retitled listener's command line ("sshd: /usr/sbin/sshd -D [listener] ..."), else None:
        its command line then keeps its words, to be read from /proc/<pid>/cmdline."""
        found = _TITLE.match(self.args)
        return tuple(found.group("argv").split()) if found else None


def sshd_processes(ps: str) -> dict[int, Process]:
    """pid -> the sshd processes of `ps -ww -C sshd -o pid=,ppid=,uid=,args=`."""
    found: dict[int, Process] = {}
    for line in ps.splitlines():
        fields = line.split(None, 3)
        if len(fields) == 4 and fields[0].isdigit() and fields[1].isdigit():
            found[int(fields[0])] = Process(int(fields[0]), int(fields[1]),
                                            int(fields[2]) if fields[2].isdigit() else None, fields[3].strip())
    return found


def listeners(ss: str, ps: str) -> dict[int, list[int]]:
    """The listening sshd processes: pid -> ports seen by ss. Where ss names no sshd (it names processes only to
    root), the sshd processes whose parent is no sshd, ports unknown (empty) until their config says."""
    sockets = sshd_sockets(ss)
    if sockets:
        return {pid: list(ports) for pid, ports in sockets.items()}
    processes = sshd_processes(ps)
    return {pid: [] for pid, process in processes.items() if process.parent not in processes}


def unit_files(listing: Mapping[str, Sequence[str]]) -> list[str]:
    """The unit file paths worth reading: each unit's first location, then its drop-ins (from a listing)."""
    paths = [f"{folder}/{unit}" for unit in UNITS for folder in UNIT_FOLDERS]
    return paths + [p for unit in UNITS for folder in UNIT_FOLDERS for p in listing.get(dropin_glob(folder, unit), ())]


def dropin_glob(folder: str, unit: str) -> str:
    """The pattern of a unit's drop-in files in one folder."""
    return f"{folder}/{unit}.d/*.conf"


@record
class Unit:
    """The ssh service as systemd would start it: ExecStart's words and the environment files it reads."""

    name: str
    exec_start: tuple[str, ...]
    environment: Mapping[str, str]
    environment_files: tuple[str, ...]


def parse_unit(files: Mapping[str, FileContent], listing: Mapping[str, Sequence[str]]) -> Unit | None:
    """The first ssh unit found, with its drop-ins applied (an empty `ExecStart=` resets the list)."""
    for unit in UNITS:
        main = next((files[f"{folder}/{unit}"] for folder in UNIT_FOLDERS
                     if f"{folder}/{unit}" in files and files[f"{folder}/{unit}"].exists), None)
        if main is None:
            continue
        texts = [main.text] + [files[p].text for folder in UNIT_FOLDERS
                               for p in listing.get(dropin_glob(folder, unit), ()) if p in files and files[p].exists]
        exec_start: list[str] = []
        environment: dict[str, str] = {}
        environment_files: list[str] = []
        for text in texts:
            section = ""
            for raw in text.splitlines():
                line = raw.strip()
                if line.startswith("["):
                    section = line
                    continue
                key, equals, value = line.partition("=")
                if section != "[Service]" or not equals or line.startswith(("#", ";")):
                    continue
                key, value = key.strip(), value.strip()
                if key == "ExecStart":
                    exec_start = value.lstrip("-@+!:").split() if value else []
                elif key == "Environment":
                    environment.update(parse_environment(value.replace(" ", "\n")))
                elif key == "EnvironmentFile" and value:
                    environment_files.append(value.lstrip("-"))
        return Unit(unit, tuple(exec_start), environment, tuple(environment_files))
    return None


def parse_environment(text: str) -> dict[str, str]:
    """An environment file's NAME=value lines (quotes removed; comments and blank lines ignored)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        name, equals, value = line.partition("=")
        if not equals or line.startswith(("#", ";")) or not re.fullmatch(r"\w+", name.strip()):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def expand(words: Sequence[str], environment: Mapping[str, str]) -> tuple[str, ...]:
    """systemd's ExecStart expansion: `$NAME` alone splits into words at blanks, `${NAME}` stays one word."""
    expanded: list[str] = []
    for word in words:
        whole = _VARIABLE.fullmatch(word)
        if whole and whole.group(2):
            expanded += environment.get(whole.group(2), "").split()
            continue
        expanded.append(_VARIABLE.sub(lambda m: environment.get(m.group(1) or m.group(2), ""), word))
    return tuple(expanded)


def identify(pids: Mapping[int, Sequence[int]], processes: Mapping[int, Process],
             cmdlines: Mapping[int, FileContent], unit: Unit | None, environment: Mapping[str, str]) -> list[Daemon]:
    """Each listening sshd with its options (a retitled one's from its title in ps, another's from its
    /proc/<pid>/cmdline); none running: the ssh unit's daemon, else sshd's defaults."""
    started = expand(unit.exec_start, environment) if unit and unit.exec_start else ()
    daemons = []
    for pid, ports in sorted(pids.items()):
        process = processes.get(pid)
        content = cmdlines.get(pid)
        if content is None and process is not None and process.title is not None:
            content = FileContent(f"/proc/{pid}/cmdline", True, f"{process.args}\0".encode())
        uid = process.uid if process else None
        notes: list[str] = []
        readable = content is not None and content.exists and not content.error and bool(content.data)
        if not ports and (not readable or _test_mode(content)):
            continue  # seen by ps alone: gone by now, or an `sshd -T` (this scan's own, perhaps), not a listener
        if content is None or not readable:
            words = started or ("sshd",)
            notes.append(f"its command line /proc/{pid}/cmdline could not be read ("
                         f"{content.error if content and content.error else 'empty or missing'}); "
                         + (f"the options of {unit.name} were used" if started and unit else "sshd's defaults were "
                            "assumed"))
            daemons.append(Daemon(pid, uid, words, parse_options(words), tuple(ports), "ss" if ports else "ps",
                                  tuple(notes)))
            continue
        words, retitled = parse_cmdline(content.data)
        if retitled and started and " ".join(started) == " ".join(words):
            words, retitled = started, False  # the unit's words, which keep their blanks
        options = parse_options(words, title=retitled)
        daemons.append(Daemon(pid, uid, words, options, tuple(ports), "ss" if ports else "ps", tuple(notes)))
    if daemons:
        return daemons
    if started and unit is not None:
        return [Daemon(None, None, started, parse_options(started), found=unit.name)]
    return [Daemon(None, None, ("sshd",), Options(), found="default")]


def _test_mode(content: FileContent | None) -> bool:
    """The process is an `sshd -T`/`-t`/`-G` (a configuration test), not a daemon."""
    if content is None:
        return False
    words, _ = parse_cmdline(content.data)
    return any(word.startswith("-") and not word.startswith("--") and set(word[1:]) & set("TtG")
               for word in words[1:] if not word.startswith("-o") and not word.startswith("-f"))
