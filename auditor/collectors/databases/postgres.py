"""PostgreSQL servers on a host, and how each is configured: TLS, pg_hba.conf and logging, read from its files.

Each instance is found from what runs, then from what is installed, never from a guessed path:
- a running postmaster (a `postgres` or `postmaster` process whose parent is not one): its command line names the
  data directory (`-D`, else the folder it runs in, /proc/PID/cwd) and the configuration file (`-c config_file=`,
  else postgresql.conf in the data directory), and may override settings (`-c name=value`, `--name=value`, `-p`);
- a cluster Debian's postgresql-common lists (`pg_lsclusters -h`) that is not running: its configuration is in
  /etc/postgresql/VERSION/CLUSTER/, the layout that package keeps; the facts say it is not running.

The settings are read as the server reads them: postgresql.conf with its `include`, `include_if_exists` and
`include_dir` lines in place, then postgresql.auto.conf (ALTER SYSTEM) from the data directory, then the command
line; what none of them sets has PostgreSQL's built-in default for that major version. pg_hba.conf (`hba_file`) is
kept line by line with its file and line number. `ssl_ciphers` is expanded by the host's own `openssl ciphers`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field

from auditor.collectors.base import Requests
from auditor.collectors.databases import _config
from auditor.collectors.databases._config import Directive, Line, Setting, resolve
from auditor.collectors.databases._host import PROCESS_NAMES, Process, Suite, expand_ciphers, read_files, running
from auditor.errors import CollectorError
from auditor.models import Platform, SystemFacts
from auditor.records import record
from auditor.transports.base import Transport, cmd

LSCLUSTERS = cmd("pg_lsclusters", "-h", slow=True)  # a Perl program
SERVER_NAMES = ("postgres", "postmaster")
# The settings the checks read, and PostgreSQL's built-in defaults (the same from 13 to 17; 12 and older below).
DEFAULTS = {
    "ssl": "off", "ssl_min_protocol_version": "TLSv1.2", "ssl_max_protocol_version": "",
    "ssl_ciphers": "HIGH:MEDIUM:+3DES:!aNULL", "ssl_tls13_ciphers": "", "log_connections": "off",
    "log_disconnections": "off", "log_statement": "none", "shared_preload_libraries": "", "pgaudit.log": "none",
    "listen_addresses": "localhost", "port": "5432", "data_directory": "", "hba_file": "",
}
_SHORT_OPTIONS = {"-p": "port", "-h": "listen_addresses", "-k": "unix_socket_directories"}
_CONF_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*(.*)$")
_HOST_TYPES = ("host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")


@record
class HbaRule:
    """One pg_hba.conf rule. `address` is "" for `local` lines; `method` the authentication method."""

    where: str
    text: str
    type: str
    database: str
    user: str
    address: str
    method: str


@record
class PostgresInstance:
    """Attributes:
    data_directory / config_file / hba_file: where the instance's data and configuration are.
    running: a postmaster runs with this data directory (pid); False for a cluster that is only installed.
    version: the major version (PG_VERSION), "" when unknown.
    settings: the settings the checks read (DEFAULTS' names), each with where its value comes from.
    hba: pg_hba.conf's rules in order, each with file:line.
    tls12_suites: the suites ssl_ciphers allows for TLS 1.2 and older, as the host's OpenSSL expands it;
        cipher_problem says why it could not be expanded.
    files: the configuration files read; problems: what could not be read (an include, pg_hba.conf).
    """

    data_directory: str
    config_file: str
    running: bool
    pid: int = 0
    version: str = ""
    settings: Mapping[str, Setting] = field(default_factory=dict)
    hba_file: str = ""
    hba: tuple[HbaRule, ...] = ()
    tls12_suites: tuple[Suite, ...] = ()
    cipher_problem: str = ""
    files: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        """How a finding names this instance."""
        version = f" {self.version}" if self.version else ""
        return f"PostgreSQL{version} {self.data_directory or self.config_file}"

    @property
    def state(self) -> str:
        """"running (pid N)" or "not running"; a finding says which was judged."""
        return f"running (pid {self.pid})" if self.running else "not running: its configuration files were judged"

    def value(self, name: str) -> str:
        return self.settings[name].value if name in self.settings else DEFAULTS.get(name, "")


@record
class PostgresFacts:
    """Every PostgreSQL instance found on the host; `note` says how the search went when none was found."""

    instances: tuple[PostgresInstance, ...] = ()
    note: str = ""


def requests(system: SystemFacts) -> Requests:
    """The process names and Debian's cluster list (Linux); the rest is asked once a server is found."""
    return ((PROCESS_NAMES, LSCLUSTERS) if system.platform is Platform.LINUX else ()), ()


# The postgres program run once and gone, not a server: initdb's bootstrap and check (--boot, --check), single-user
# mode, and the queries of its settings (--describe-config, -C name). A scan that lists processes while initdb runs
# would otherwise take it for a postmaster whose data directory vanished.
_ONE_SHOT = {"--check", "--boot", "--single", "--describe-config", "-C"}


def collect(host: Transport, _: SystemFacts) -> PostgresFacts:
    """Every running postmaster, then every listed cluster that is not running, each with its configuration."""
    processes = [p for p in running(host, SERVER_NAMES) if not set(p.argv[1:]) & _ONE_SHOT]
    instances = [_running_instance(host, process) for process in processes]
    clusters = host.run(LSCLUSTERS)
    known = {posixpath.normpath(i.data_directory) for i in instances}
    for version, name, data_directory in parse_lsclusters(clusters.stdout if clusters.ok else ""):
        if posixpath.normpath(data_directory) not in known:
            config = f"/etc/postgresql/{version}/{name}/postgresql.conf"
            instances.append(_instance(host, config, data_directory, {}, running=False, pid=0))
    if instances:
        return PostgresFacts(tuple(instances))
    if clusters.ok:
        listed = "pg_lsclusters lists no cluster"
    elif clusters.not_found:
        listed = "pg_lsclusters (Debian's postgresql-common) is not installed, so no installed cluster is listed"
    else:
        listed = clusters.failure()
    return PostgresFacts((), f"No PostgreSQL server runs on this host, and {listed}.")


def parse_lsclusters(text: str) -> list[tuple[str, str, str]]:
    """`pg_lsclusters -h` lines (version, cluster, port, status, owner, data directory, log) -> (version, cluster,
    data directory)."""
    found = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 6 and re.fullmatch(r"\d+(\.\d+)?", words[0]) and words[5].startswith("/"):
            found.append((words[0], words[1], words[5]))
    return found


def parse_command_line(argv: Sequence[str]) -> tuple[str, str, dict[str, str]]:
    """A postmaster's arguments -> (data directory, configuration file, settings given on the command line)."""
    data_directory, overrides = "", {}
    words = list(argv[1:])
    i = 0
    while i < len(words):
        word = words[i]
        value = words[i + 1] if i + 1 < len(words) else ""
        if word == "-D" or word in _SHORT_OPTIONS or word == "-c":
            i += 1
        if word.startswith("-D"):
            data_directory = word[2:] or value
        elif word[:2] in _SHORT_OPTIONS:
            overrides[_SHORT_OPTIONS[word[:2]]] = word[2:] or value
        elif word.startswith("-c") or (word.startswith("--") and "=" in word):
            name, _, setting = (word[2:] or value).partition("=")
            overrides[name.strip().lower().replace("-", "_")] = setting
        i += 1
    config_file = overrides.pop("config_file", "")
    data_directory = overrides.pop("data_directory", "") or data_directory
    return data_directory, config_file, overrides


def _running_instance(host: Transport, process: Process) -> PostgresInstance:
    data_directory, config_file, overrides = parse_command_line(process.argv)
    if not data_directory and not config_file:
        # A postmaster runs in its data directory; PGDATA in its environment named it.
        folder = host.run(cmd("readlink", f"/proc/{process.pid}/cwd", sudo=True))
        if not folder.ok or not folder.stdout.strip().startswith("/"):
            raise CollectorError(f"the data directory of the PostgreSQL server (pid {process.pid}) is named neither "
                                 f"on its command line nor by its working folder: {folder.failure()}")
        data_directory = folder.stdout.strip()
    config_file = config_file or posixpath.join(data_directory, "postgresql.conf")
    return _instance(host, config_file, data_directory, overrides, running=True, pid=process.pid)


def _instance(host: Transport, config_file: str, data_directory: str, overrides: Mapping[str, str], *,
              running: bool, pid: int) -> PostgresInstance:
    main = _config.load(host, config_file, parse_conf, ".conf")
    settings = settings_from(main.lines)
    data_directory = settings["data_directory"].value if "data_directory" in settings else data_directory
    auto_path = posixpath.join(data_directory, "postgresql.auto.conf")
    version_file = posixpath.join(data_directory, "PG_VERSION")
    extra = read_files(host, [auto_path, version_file])
    auto = extra[auto_path]
    if auto.text is not None:
        settings |= settings_from(d.line for d in parse_conf(auto_path, auto.text) if d.kind == "line")
    settings |= {name: Setting(value, "command line") for name, value in overrides.items()}
    version = (extra[version_file].text or "").strip()
    defaults = dict(DEFAULTS)
    if version.isdigit() and int(version) < 13:  # 12 added the setting with TLSv1; before it, any version went
        defaults["ssl_min_protocol_version"] = "TLSv1"
    effective = {name: settings.get(name, Setting(default)) for name, default in defaults.items()}
    named = effective["hba_file"].value
    # A relative path is relative to the data directory, where the postmaster runs.
    hba_file = posixpath.join(data_directory, named) if named else \
        posixpath.join(posixpath.dirname(config_file), "pg_hba.conf")
    hba = _config.load(host, hba_file, parse_hba_file, ".conf")
    suites, cipher_problem = expand_ciphers(host, effective["ssl_ciphers"].value)
    return PostgresInstance(
        data_directory=data_directory, config_file=config_file, running=running, pid=pid, version=version,
        settings=effective, hba_file=hba_file, hba=tuple(r for line in hba.lines if (r := hba_rule(line))),
        tls12_suites=suites, cipher_problem=cipher_problem, files=(*main.files, *hba.files),
        problems=(*main.problems, *hba.problems))


def settings_from(lines: Iterable[Line]) -> dict[str, Setting]:
    """`name = value` lines, in reading order (the last one wins) -> name -> Setting."""
    found: dict[str, Setting] = {}
    for line in lines:
        match = _CONF_LINE.match(line.text)
        if match:
            found[match.group(1).lower()] = Setting(_value(match.group(2)), line.where)
    return found


def _value(raw: str) -> str:
    """A value as written after `name =`: a quoted string ('' and backslash escapes) or one word."""
    raw = raw.strip()
    if not raw.startswith("'"):
        return raw.split()[0] if raw.split() else ""
    out, i = [], 1
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
            continue
        if char == "'":
            if raw[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            break
        out.append(char)
        i += 1
    return "".join(out)


def _strip_comment(text: str, quote: str) -> str:
    inside = False
    for i, char in enumerate(text):
        if char == quote:
            inside = not inside
        elif char == "#" and not inside:
            return text[:i]
    return text


def parse_conf(path: str, text: str) -> list[Directive]:
    """postgresql.conf -> directives (settings, and include / include_if_exists / include_dir)."""
    directives = []
    for number, raw in enumerate(text.splitlines(), 1):
        body = _strip_comment(raw, "'").strip()
        match = _CONF_LINE.match(body)
        if not match:
            continue
        line = Line(path, number, body)
        name = match.group(1).lower()
        if name in ("include", "include_if_exists", "include_dir"):
            directives.append(Directive(name, line, resolve(path, _value(match.group(2)))))
        else:
            directives.append(Directive("line", line))
    return directives


def _hba_words(text: str) -> list[str]:
    return [w.strip('"') for w in re.findall(r'"[^"]*"\S*|\S+', text)]


def parse_hba_file(path: str, text: str) -> list[Directive]:
    """pg_hba.conf -> directives: each rule a line (continued lines joined), and PostgreSQL 16's include lines."""
    directives: list[Directive] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        body = _strip_comment(raw, '"').rstrip()
        if not pending:
            start = number
        if body.endswith("\\"):
            pending += body[:-1] + " "
            continue
        body, pending = (pending + body).strip(), ""
        words = _hba_words(body)
        if not words:
            continue
        line = Line(path, start, " ".join(body.split()))
        if words[0] in ("include", "include_if_exists", "include_dir") and len(words) == 2:
            directives.append(Directive(words[0], line, resolve(path, words[1])))
        else:
            directives.append(Directive("line", line))
    return directives


def hba_rule(line: Line) -> HbaRule | None:
    """One pg_hba.conf line -> its rule (None for a line too short to be one)."""
    words = _hba_words(line.text)
    kind = words[0].lower() if words else ""
    if kind == "local" and len(words) >= 4:
        return HbaRule(line.where, line.text, kind, words[1], words[2], "", words[3])
    if kind not in _HOST_TYPES or len(words) < 5:
        return None
    address, rest = words[3], words[4:]
    # An address without /mask (and not a keyword or a name) takes the mask in the next field.
    if re.fullmatch(r"[0-9.]+|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*", address) and len(rest) >= 2:
        address, rest = f"{address} {rest[0]}", rest[1:]
    return HbaRule(line.where, line.text, kind, words[1], words[2], address, rest[0])
