"""MySQL and MariaDB servers on a host, and how each is configured: required TLS, TLS versions and suites, and its
audit or general log, read from its option files.

The server program itself says where it reads options and what it does when nothing is set:
`mariadbd --no-defaults --verbose --help` (or `mysqld ...`, the name MySQL and older MariaDB packages install)
prints its version, the option files it reads in order, the option groups it reads, and its built-in default of
every variable. A running server (a `mariadbd` or `mysqld` process) adds its command line: `--defaults-file`
(only that file is read), `--defaults-extra-file` (read after the others), `--no-defaults`,
`--defaults-group-suffix` (its groups are read too: mariadb@.service's instances), and `--name=value` settings,
which override the files. The system's own server (the installed program with its default option files)
is judged on its files when no running server has its datadir, beside any others that run, and the facts say it is
not running. `~/.my.cnf` (the server account's home) is not read.

Option files are read as the server reads them: `!include` and `!includedir` (files ending in .cnf) in place,
only the groups the server reads, `loose-`, `skip-`, `enable-` and `disable-` prefixes, `-` and `_` alike.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field

from auditor.collectors.base import Requests
from auditor.collectors.databases import _config
from auditor.collectors.databases._config import Directive, Line, Setting, resolve
from auditor.collectors.databases._host import PROCESS_NAMES, Process, Suite, expand_ciphers, running
from auditor.errors import CollectorError
from auditor.models import Platform, SystemFacts
from auditor.records import record
from auditor.transports.base import CommandResult, Transport, cmd

PROGRAMS = ("mariadbd", "mysqld")
HELP = {name: cmd(name, "--no-defaults", "--verbose", "--help", timeout=30, slow=True) for name in PROGRAMS}
# The variables the checks read (names with "_"); the rest of a server's configuration is in the evidence.
SETTINGS = ("require_secure_transport", "tls_version", "ssl_cipher", "tls_ciphersuites", "ssl_cert", "ssl_key",
            "ssl", "general_log", "general_log_file", "log_output", "plugin_load", "plugin_load_add",
            "server_audit_logging", "server_audit_events", "server_audit_output_type", "audit_log",
            "audit_log_policy", "datadir", "port", "bind_address")
_TRUE, _FALSE = {"1", "on", "true", "yes", "force", "force_plus_permanent"}, {"0", "off", "false", "no"}
_GROUP = re.compile(r"^\[\s*([^\]]+?)\s*\]$")
_VERSION = re.compile(r"\bVer\s+(\d+)\.(\d+)(?:\.(\d+))?")
_TABLE_RULE = re.compile(r"-{10,}\s+-{10,}.*")
# MariaDB makes its own certificate at start (when none is configured) from 11.4 on; MySQL has since 5.7.
_MARIADB_MAKES_CERTIFICATE = (11, 4)


@record
class MysqlInstance:
    """Attributes:
    program: the server program (/usr/sbin/mariadbd); product: the first line of its help, with the version.
    running: a server process runs (pid); False: the program is installed and not running.
    option_files: the option files read, in order; groups: the option groups the server reads.
    settings: SETTINGS' values, each with where it comes from ("default": the program's built-in default).
    tls12_suites: the suites ssl_cipher allows for TLS 1.2 and older, as the host's OpenSSL expands it
        (OpenSSL's DEFAULT list when ssl_cipher is not set); cipher_problem says why it could not be expanded.
    problems: included files or folders that could not be read.
    """

    program: str
    product: str
    running: bool
    pid: int = 0
    option_files: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    settings: Mapping[str, Setting] = field(default_factory=dict)
    tls12_suites: tuple[Suite, ...] = ()
    cipher_problem: str = ""
    problems: tuple[str, ...] = ()

    @property
    def mariadb(self) -> bool:
        return "mariadb" in self.product.lower() or self.program.endswith("mariadbd")

    @property
    def resource(self) -> str:
        """How a finding names this instance."""
        name = "MariaDB" if self.mariadb else "MySQL"
        datadir = self.value("datadir")
        return f"{name} {datadir}".rstrip() if datadir else f"{name} {self.program}"

    @property
    def state(self) -> str:
        return f"running (pid {self.pid})" if self.running else "not running: its option files were judged"

    @property
    def version(self) -> str:
        """The server's version from its product line ("10.11.19"; "" when it names none)."""
        found = _VERSION.search(self.product)
        return ".".join(part for part in found.groups() if part) if found else ""

    @property
    def tls_off(self) -> bool:
        """The server cannot offer TLS: no certificate is configured (neither ssl_cert nor ssl_key: MariaDB takes
        either file for both) and it makes none of its own, as MariaDB before 11.4 does not (its have_ssl says
        DISABLED). MariaDB 11.4 and MySQL (5.7 on) generate one at start; an unknown version is not judged off."""
        if self.value("ssl_cert") or self.value("ssl_key") or not self.mariadb:
            return False
        found = _VERSION.search(self.product)
        return found is not None and (int(found[1]), int(found[2])) < _MARIADB_MAKES_CERTIFICATE

    def value(self, name: str) -> str:
        return self.settings[name].value if name in self.settings else ""

    def enabled(self, name: str) -> bool:
        """A boolean variable is on (ON, 1, TRUE, YES; FORCE for a plugin)."""
        return self.value(name).strip().lower() in _TRUE


@record
class MysqlFacts:
    """Every MySQL or MariaDB server found on the host; `note` says how the search went when none was found."""

    instances: tuple[MysqlInstance, ...] = ()
    note: str = ""


def requests(system: SystemFacts) -> Requests:
    """The process names and what each server program on the PATH says of itself (Linux)."""
    return ((PROCESS_NAMES, HELP["mariadbd"]) if system.platform is Platform.LINUX else ()), ()


# The server program run once and gone, not a server: mariadb-install-db's and mysqld's own initialisation
# (--bootstrap, --initialize[-insecure]), and the questions a tool asks it (--help, --version, --print-defaults).
_ONE_SHOT = {"--help", "-?", "--bootstrap", "--initialize", "--initialize-insecure", "--version", "-V",
             "--print-defaults"}


def collect(host: Transport, _: SystemFacts) -> MysqlFacts:
    """Every running server, then the system's own server (the installed program with its default option files)
    when none of them is it, judged on its option files."""
    # `mysqld` is asked only when `mariadbd` is not there (MySQL, MariaDB before 10.5): where both are
    # installed, mysqld is MariaDB's link to the same program, and each help costs about 0.2 s of CPU.
    helps = {"mariadbd": host.run(HELP["mariadbd"])}
    if not helps["mariadbd"].ok:
        helps["mysqld"] = host.run(HELP["mysqld"])
    installed = next((name for name, result in helps.items() if result.ok), "")
    processes = [p for p in running(host, PROGRAMS) if not set(p.argv[1:]) & _ONE_SHOT]
    instances = [_instance(host, process.argv[0], _help_for(host, process, helps), process) for process in processes]
    if installed:
        # A running server (a second instance, a test server with its own --defaults-file) is the system's own
        # server only if it has its datadir; otherwise the system's server is judged beside it, on its option files.
        # When it does run, those files were just read for it, and a scan fetches each fact once per target.
        system = _instance(host, installed, helps[installed], None)
        if _datadir(system) not in {_datadir(instance) for instance in instances}:
            instances.append(system)
    if instances:
        return MysqlFacts(tuple(instances))
    return MysqlFacts((), "No MySQL or MariaDB server runs on this host, and neither mariadbd nor mysqld is "
                          "installed in its PATH.")


def _datadir(instance: MysqlInstance) -> str:
    """The instance's datadir, spelled alike ("/var/lib/mysql/" and "/var/lib/mysql" are one folder)."""
    return posixpath.normpath(instance.value("datadir")) if instance.value("datadir") else ""


def _help_for(host: Transport, process: Process, helps: Mapping[str, CommandResult]) -> CommandResult:
    """The help of the program a process runs: the one of that name on the PATH, else asked of its own path
    (RHEL's /usr/libexec/mysqld is outside the PATH)."""
    program = process.argv[0]
    base = posixpath.basename(program)
    if base in helps and helps[base].ok:
        return helps[base]
    result = host.run(cmd(program, "--no-defaults", "--verbose", "--help", timeout=30))
    return result if result.ok else helps.get(base, result)


@record
class ProgramHelp:
    """What `--verbose --help` says: the product line, the default option files and groups, built-in defaults."""

    product: str
    option_files: tuple[str, ...]
    groups: tuple[str, ...]
    defaults: Mapping[str, str]


def parse_help(text: str) -> ProgramHelp:
    """`mariadbd --no-defaults --verbose --help` -> its product line, option files, groups and default values."""
    lines = text.splitlines()
    product = next((line.strip() for line in lines if " Ver " in line), "")
    files: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    for i, line in enumerate(lines):
        if line.startswith("Default options are read from") and i + 1 < len(lines):
            files = tuple(lines[i + 1].split())
        elif line.startswith("The following groups are read:"):
            groups = tuple(line.split(":", 1)[1].split())
    defaults: dict[str, str] = {}
    # The defaults table starts after its `-----  -----` rule, some thousand lines in: test the cheap prefix first.
    table = next((i for i, line in enumerate(lines)
                  if line.lstrip().startswith("-" * 10) and _TABLE_RULE.fullmatch(line.strip())), None)
    if table is not None:
        for line in lines[table + 1:]:
            name, _, value = line.strip().partition(" ")
            if not name:
                break
            value = value.strip()
            defaults[_key(name)] = "" if value == "(No default value)" else value
    return ProgramHelp(product, files, groups, defaults)


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _instance(host: Transport, program: str, help_result: CommandResult, process: Process | None) -> MysqlInstance:
    if not help_result.ok:
        raise CollectorError(f"the MySQL/MariaDB server program {program} did not describe its options: "
                             f"{help_result.failure()}")
    described = parse_help(help_result.stdout)
    if not described.option_files or not described.groups:
        raise CollectorError(f"`{program} --verbose --help` named no option files or groups")
    argv = process.argv[1:] if process else ()
    files = option_files(described.option_files, argv)
    loaded = [_config.load(host, path, parse_option_file, ".cnf", required=False) for path in files]
    lines = [line for found in loaded for line in found.lines]
    groups = read_groups(described.groups, argv)
    settings = settings_from(lines, groups)
    settings |= {name: Setting(value, "command line") for name, value in command_line_settings(argv).items()}
    effective = {name: settings.get(name, Setting(described.defaults.get(name, ""))) for name in SETTINGS}
    cipher_string = effective["ssl_cipher"].value or "DEFAULT"
    suites, cipher_problem = expand_ciphers(host, cipher_string)
    return MysqlInstance(
        program=program, product=described.product, running=process is not None,
        pid=process.pid if process else 0, option_files=tuple(f for found in loaded for f in found.files),
        groups=groups, settings=effective, tls12_suites=suites, cipher_problem=cipher_problem,
        problems=tuple(p for found in loaded for p in found.problems))


def option_files(default_files: Sequence[str], argv: Sequence[str]) -> list[str]:
    """The option files a server with these arguments reads, in order (~ is left out: the server's home)."""
    given = {word.split("=", 1)[0]: word.split("=", 1)[1] for word in argv
             if word.startswith("--defaults") and "=" in word}
    if "--no-defaults" in argv:
        return []
    if "--defaults-file" in given:
        return [given["--defaults-file"]]
    files = [f for f in default_files if f.startswith("/")]
    return files + ([given["--defaults-extra-file"]] if "--defaults-extra-file" in given else [])


def read_groups(default_groups: Sequence[str], argv: Sequence[str]) -> tuple[str, ...]:
    """The option groups a server with these arguments reads: `--defaults-group-suffix=.qa` (how mariadb@qa.service
    starts an instance) adds each group with the suffix ([mariadbd.qa], [mysqld.qa]...) to the usual ones; without
    them an instance's own datadir and settings would be missed, and it would pass for the system's server."""
    suffix = next((word.split("=", 1)[1] for word in reversed(argv)
                   if word.startswith("--defaults-group-suffix=")), "")
    if not suffix:
        return tuple(default_groups)
    return tuple(default_groups) + tuple(f"{group}{suffix.lower()}" for group in default_groups)


def parse_option_file(path: str, text: str) -> list[Directive]:
    """An option file -> directives: `[group]` headers and options as lines, `!include` / `!includedir`."""
    directives = []
    for number, raw in enumerate(text.splitlines(), 1):
        body = raw.strip()
        if not body or body[0] in "#;":
            continue
        line = Line(path, number, body)
        if body.startswith(("!include ", "!includedir ")):
            word, _, target = body.partition(" ")
            kind = "include_dir" if word == "!includedir" else "include_if_exists"
            directives.append(Directive(kind, line, resolve(path, target.strip())))
        else:
            directives.append(Directive("line", line))
    return directives


def settings_from(lines: Iterable[Line], groups: Sequence[str]) -> dict[str, Setting]:
    """Options of the groups the server reads, in reading order (the last one wins) -> name -> Setting."""
    found: dict[str, Setting] = {}
    group = ""
    for line in lines:
        header = _GROUP.match(line.text)
        if header:
            group = header.group(1).lower()
            continue
        if group not in groups:
            continue
        name, value = _option(line.text)
        if name:
            found[name] = Setting(value, line.where)
    return found


def _option(text: str) -> tuple[str, str]:
    """One option line -> (variable name, value); prefixes become values (skip-x: x=OFF)."""
    name, has_value, value = text.partition("=")
    value = value.split(" #")[0].strip() if has_value else ""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    key = _key(name)
    key = key.removeprefix("loose_")
    for prefix, meaning in (("skip_", "OFF"), ("disable_", "OFF"), ("enable_", "ON")):
        if key.startswith(prefix) and not has_value:
            return key.removeprefix(prefix), meaning
    return key, value if has_value else "ON"


def command_line_settings(argv: Sequence[str]) -> dict[str, str]:
    """`--name=value`, `--name`, `--skip-name` arguments -> variable -> value (option-file options left out)."""
    found = {}
    for word in argv:
        if word.startswith("--") and not word.startswith(("--defaults", "--no-defaults")):
            name, value = _option(word[2:])
            found[name] = value
    return found
