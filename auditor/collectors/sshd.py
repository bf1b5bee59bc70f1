"""The OpenSSH daemons of a host and their effective configuration: per daemon, and per Match block.

Which daemons (sshd_config/daemons.py): every sshd that listens (ss, ps, /proc/<pid>/cmdline, the ssh unit),
with the options it runs with (`-f`, `-o`, `-p` ...). Each is asked `sshd -T` with those options, for an
arbitrary client from an outside documentation address (RFC 5737) and once more for each Match block with a
connection that triggers it (sshd_config/conditions.py), so that a block for a trusted network or user cannot hide
what it allows.

`sshd -T` needs root (it loads the host keys), so it runs with sudo. Where sshd has never run, its privilege
separation directory is missing and `sshd -T` refuses: then it runs inside a private mount namespace where that
folder exists on a throw-away tmpfs, so nothing is created on the host (sshd_config/namespace.py), and the facts
say so. Where `sshd -T` cannot run at all (no root, sudo refused, no namespace), the configuration is read from
the files by the scanner's own parser (sshd_config/evaluate.py) with the compiled-in defaults of the host's
OpenSSH release (sshd_config/openssh.py), and the facts say it was derived from the files, not from the daemon.

Round trips: the first batch (declared up front) holds the default daemon's `sshd -T`, ss, ps, the versions, the
default config tree and the ssh unit; the second reads each listening daemon's /proc/<pid>/cmdline; further ones
fetch what the config trees still lack, then run every `sshd -T` that the daemons and Match blocks need at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace
from pathlib import Path

from auditor import ssh_config
from auditor.collectors.base import Requests
from auditor.collectors.listeners import SS
from auditor.collectors.sshd_config.conditions import (
    Connection,
    Criterion,
    applies,
    may_match_an_address,
    not_evaluable,
    parse_condition,
    trigger,
)
from auditor.collectors.sshd_config.daemons import (
    DEFAULT_CONFIG,
    ENVIRONMENT_FILES,
    UNIT_FOLDERS,
    UNITS,
    Daemon,
    Unit,
    dropin_glob,
    identify,
    listeners,
    parse_environment,
    parse_unit,
    sshd_processes,
    unit_files,
)
from auditor.collectors.sshd_config.evaluate import evaluate, groups_named, match_lines
from auditor.collectors.sshd_config.namespace import (
    MISSING_PRIVSEP,
    PRIVSEP_DIRS,
    in_private_namespace,
    namespace_failed,
    namespace_failure,
    never_ran,
)
from auditor.collectors.sshd_config.openssh import Build, build_for, version_of
from auditor.collectors.sshd_config.reading import glob_command, lookup_groups, parse_glob, read_trees
from auditor.collectors.sshd_config.tree import SSHDIR, Tree, include_patterns
from auditor.collectors.sshd_config.values import LISTS, canonical_keyword
from auditor.errors import CollectorError, FactMissing
from auditor.models import SystemFacts, Target, TargetKind
from auditor.records import record
from auditor.transports.base import Command, CommandResult, FileContent, Transport, cmd

PARAMETERS = ("target",)
CONNECTION = Connection().spec()
SSHD_T = cmd("sshd", "-T", "-C", CONNECTION, sudo=True)
SSHD_V = cmd("sshd", "-V")  # before 9.0 an unknown option: sshd then prints its version with the usage
SSH_V = cmd("ssh", "-V")
# Only sshd's own processes: other processes' command lines may hold secrets and are never asked for.
PS = cmd("ps", "-ww", "-C", "sshd", "-o", "pid=,ppid=,uid=,args=")  # -ww: never cut at COLUMNS
DEFAULT_DROPINS = f"{SSHDIR}/sshd_config.d/*.conf"
FIRST_GLOBS = glob_command([DEFAULT_DROPINS, *(dropin_glob(f, u) for f in UNIT_FOLDERS for u in UNITS)])
FIRST_FILES = (DEFAULT_CONFIG, *ENVIRONMENT_FILES, *unit_files({}))
FROM_DAEMON, FROM_FILES = "sshd -T", "files"


@record
class View:
    """One connection's effective configuration: keyword -> value as `sshd -T` prints it (lower-case keyword,
    first value of a repeated one), and the algorithm keywords split into tuples."""

    options: Mapping[str, str] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@record
class MatchBlock:
    """Attributes:
    condition: the Match line as written ("Match Address 10.40.0.0/16").
    where: the file and line it stands on.
    connection: the `-C` connection it was evaluated for ("" when it was not).
    view: the configuration that connection gets (None when not evaluated).
    not_evaluated: why it was not ("" when it was).
    never_applies: why no connection to this daemon can match it ("" when one can): nothing it sets counts.
    everyone: the outside client matches it too (`Match LocalPort` of the daemon's port, `Match all`), so what it
        sets is in the daemon's own view.
    also: where the other Match lines its connection matches too stand (a user also in a `Match Group`'s group):
        what those set is in its view as well.
    source: FROM_DAEMON or FROM_FILES.
    sets: the keywords the block writes (as `sshd -T` names them), so a check knows whether an unevaluated
        block concerns it.
    """

    condition: str
    where: str
    connection: str = ""
    view: View | None = None
    not_evaluated: str = ""
    source: str = FROM_DAEMON
    sets: tuple[str, ...] = ()
    never_applies: str = ""
    everyone: bool = False
    also: tuple[str, ...] = ()


@record
class SshdDaemon:
    """One sshd and its configuration.

    Attributes:
        resource: what findings name it by: "port 22", "port 22, 2222", or its config file when not running.
        ports: the ports it listens on (ss, else its configuration).
        config: the config file judged.
        arguments: the options it runs with that change its configuration (-f, -o, -p ...).
        pid: its process (None: not running, or not seen).
        serves_target: it listens on the scanned port (None: no port was scanned, a local scan).
        source: FROM_DAEMON (`sshd -T`) or FROM_FILES (the scanner's reading of the files).
        view: what an arbitrary client from outside gets (None when it could not be judged: `problem`).
        matches: every Match block, evaluated or with why not.
        notes: how it was read, what is uncertain (shown with every finding on it).
        warning: why the daemon that serves the scanned port is not known for sure (a pass becomes a warn).
        problem: why it could not be judged at all.
        unread: config files it names that could not be read: Match blocks in them are unknown.
        stopped: no sshd process runs (the processes were read, on a local scan): this is what it starts with.
    """

    resource: str
    view: View | None
    ports: tuple[int, ...] = ()
    config: str = DEFAULT_CONFIG
    arguments: tuple[str, ...] = ()
    pid: int | None = None
    serves_target: bool | None = None
    source: str = FROM_DAEMON
    matches: tuple[MatchBlock, ...] = ()
    notes: tuple[str, ...] = ()
    warning: str = ""
    problem: str = ""
    unread: tuple[str, ...] = ()
    stopped: bool = False


@record
class SshdFacts:
    """Attributes:
    installed: False when there is no sshd binary (the SSH checks are then not applicable).
    daemons: each sshd, the one serving the scanned port first.
    scanned_port: the port the target was reached on (None for a local scan).
    unserved: why no daemon found serves the scanned port ("" when one does, or for a local scan).
    """

    installed: bool
    daemons: tuple[SshdDaemon, ...] = ()
    scanned_port: int | None = None
    unserved: str = ""

    @property
    def options(self) -> Mapping[str, str]:
        """The first daemon's options for an outside client (empty when there is none)."""
        first = self.daemons[0].view if self.daemons else None
        return first.options if first else {}

    @property
    def lists(self) -> Mapping[str, tuple[str, ...]]:
        """The first daemon's algorithm lists for an outside client."""
        first = self.daemons[0].view if self.daemons else None
        return first.lists if first else {}

    @property
    def note(self) -> str:
        """The first daemon's notes, joined."""
        return "; ".join(self.daemons[0].notes) if self.daemons else ""


def requests(_: SystemFacts, target: Target | None = None) -> Requests:
    # Only what every host is asked; the namespace retry, per-daemon runs and Match blocks come after answers.
    return (SSHD_T, SS, PS, SSHD_V, FIRST_GLOBS), FIRST_FILES  # SSH_V: only when sshd -V names no version


def collect(host: Transport, system: SystemFacts, target: Target | None = None) -> SshdFacts:
    first = host.run(SSHD_T)
    if first.not_found or "sshd: command not found" in first.stderr:
        return SshdFacts(installed=False)
    sshd = _Sshd.start(host, first)
    try:
        return _collect(host, system, target, sshd)
    except FactMissing:
        if not first.ok:
            raise
        # Evidence recorded before daemons were told apart (a replay of an older run) holds only this answer.
        daemon = SshdDaemon(DEFAULT_CONFIG, parse_view(first.stdout), notes=(
            "the evidence holds only the default daemon's `sshd -T` (recorded before each daemon and Match block "
            "was collected), so other daemons and Match blocks were not judged",), unread=(DEFAULT_CONFIG,))
        return SshdFacts(True, (daemon,), _scanned_port(target))


def _collect(host: Transport, system: SystemFacts, target: Target | None, sshd: _Sshd) -> SshdFacts:
    """Everything after the first answer: the daemons, their files, and their `sshd -T` per Match block."""
    files = dict(zip(FIRST_FILES, host.read_many(FIRST_FILES), strict=True))
    blind: set[str] = set()
    globs = _globs(host.run(FIRST_GLOBS), FIRST_GLOBS, sshd.can_run, blind)
    ss, ps = host.run(SS), host.run(PS)
    processes = sshd_processes(ps.stdout)  # ps exits 1, printing nothing, when no sshd runs
    pids = listeners(ss.stdout if ss.ok else "", ps.stdout)
    # Second round trip, when needed: the exact words of a listener that did not retitle itself (OpenSSH before
    # 8.2, or one ps did not show), and the unit's drop-ins.
    exact = [pid for pid in pids if pid not in processes or processes[pid].title is None]
    dropins = [p for p in unit_files(globs) if p not in files]
    read = host.read_many([*(f"/proc/{pid}/cmdline" for pid in exact), *dropins])
    files.update(zip(dropins, read[len(exact):], strict=True))
    unit = parse_unit(files, globs)
    found = identify(pids, processes, dict(zip(exact, read[:len(exact)], strict=True)), unit,
                     _unit_environment(host, unit, files))
    # Only root's daemons may have their files read as root: another account's config could include any file.
    trusted = [d.options.config for d in found if _trusted(d)]
    trees, problems = read_trees(host, trusted, files, globs, blind, privileged=sshd.can_run)
    others, more = read_trees(host, [d.options.config for d in found if not _trusted(d)], files, globs, blind)
    trees, problems = {**others, **trees}, [*problems, *more]
    build, build_note = build_for(_version(host), system.os_id, system.os_version)
    members = _members(host, trees) if sshd.can_run else None
    daemons = [sshd.judge(d, trees[d.options.config], (build, build_note), members, problems, blind) for d in found]
    if sshd.can_run and all(d.view is None for d in daemons):
        raise CollectorError(daemons[0].problem)
    return _place(daemons, _scanned_port(target), ps.exit_status in (0, 1) or ss.ok)


class _Sshd:
    """How this host answers `sshd -T`: directly, in a private namespace, or not at all (then from files)."""

    def __init__(self, host: Transport, wrap: Callable[[Command], Command], cannot_run: str, note: str) -> None:
        self.host = host
        self.wrap = wrap
        self.cannot_run = cannot_run
        self.note = note

    @property
    def can_run(self) -> bool:
        return not self.cannot_run

    @classmethod
    def start(cls, host: Transport, first: CommandResult) -> _Sshd:
        if first.ok:
            return cls(host, lambda c: c, "", "")
        missing = MISSING_PRIVSEP.search(first.stderr)
        if missing is None:
            reason = explain_failure(first)
            if "needs root" in reason or "sudo" in reason:
                return cls(host, lambda c: c, reason, "")
            raise CollectorError(reason)
        folder = missing.group(1)
        if folder not in PRIVSEP_DIRS:
            shown = folder[:200]
            return cls(host, lambda c: c, f"{never_ran(shown)}; {shown} is not a known privilege separation "
                       f"directory ({', '.join(sorted(PRIVSEP_DIRS))}), so it was not read in a private mount "
                       "namespace either, and nothing was created on the host", "")
        retry = host.run(in_private_namespace(folder, SSHD_T))
        if not retry.ok:
            if not namespace_failed(retry):
                raise CollectorError(explain_failure(retry))  # sshd ran there and refused the configuration
            return cls(host, lambda c: c, namespace_failure(retry, folder), "")
        return cls(host, lambda c: in_private_namespace(folder, c),
                   "", f"sshd has not run on this host (no {folder}); its configuration was read in a private "
                   "mount namespace")

    def judge(self, daemon: Daemon, tree: Tree, defaults: tuple[Build, str],
              members: Mapping[str, Sequence[str]] | None, notes: Sequence[str], blind: set[str]) -> SshdDaemon:
        """The daemon's configuration for an outside client and for each Match block. `defaults`: the build whose
        compiled-in defaults the files are read with, and what is uncertain about that choice; `blind`: Include
        patterns whose folder could not be listed."""
        build, build_note = defaults
        every = _blocks(tree, build)
        # What the files say at start-up: UseDNS (global, default no) decides what `Match Host` is compared with,
        # the name or the address text; the ports, where ss could not name the daemon's (no root).
        start = evaluate(tree.root, build, None, daemon.options.lines, daemon.options.ports) if tree.root else None
        usedns = start is None or start.options.get("usedns", "no").lower() == "yes"
        ports = daemon.ports or (start.ports if start else ())
        never = [b.never_applies(ports, usedns) for b in every]  # why each block never applies ("": it may)
        blocks = [b for b, why in zip(every, never, strict=True) if not why]
        by_port = any(c.attribute == "localport" for b in every for c in b.criteria)
        # sshd -T refuses a config with any Match LocalPort unless the connection names a local port.
        outside = Connection(lport=(ports or (22,))[0] if by_port else 0)
        relative = daemon.options.relative
        base = SshdDaemon(resource="", view=None, config=daemon.options.config, arguments=daemon.options.arguments,
                          pid=daemon.pid, ports=daemon.ports, notes=tuple(daemon.notes),
                          unread=(*tree.unread, *sorted(blind & include_patterns(tree.root) if tree.root else ())),
                          warning=_relative_config(daemon) if relative else "")
        if self.can_run and _trusted(daemon):
            judged = self._from_daemon(base, daemon, tree, build, outside, blocks, members, notes)
        else:
            why = self.cannot_run or (f"sshd process {daemon.pid} runs as uid {daemon.uid}, not root, so its "
                                      "options were not given to `sshd -T` as root")
            judged = _from_files(base, daemon, tree, build, outside, blocks, why, [build_note, *notes])
        if judged.problem:  # not judged at all
            return judged
        # In the files' order: the blocks that never apply say why; a block the outside client matches too is part
        # of the daemon's own view, so findings on it name the block.
        judged_blocks = iter(judged.matches)
        matches = [b.unevaluated("", judged.source, never=why) if why else
                   replace(next(judged_blocks), everyone=b.applies_to(outside))
                   for b, why in zip(every, never, strict=True)]
        return replace(judged, matches=tuple(matches))

    def _from_daemon(self, base: SshdDaemon, daemon: Daemon, tree: Tree, build: Build, outside: Connection,
                     blocks: list[_Block], members: Mapping[str, Sequence[str]] | None,
                     notes: Sequence[str]) -> SshdDaemon:
        argv = ("sshd", "-T", *daemon.options.arguments)
        connections = [_triggering(b.criteria, members, outside) for b in blocks]
        asked = [outside, *(c for c in connections if isinstance(c, Connection) and c.user)]
        commands = {c: self.wrap(cmd(*argv, "-C", c.spec(), sudo=True)) for c in asked}
        results = dict(zip(commands, self.host.run_many(list(commands.values())), strict=True))
        main = results[outside]
        shown = (*base.notes, *([self.note] if self.note else []), *(n for n in notes if n))
        if not main.ok:
            return replace(base, notes=shown, problem=explain_failure(main))
        matches = []
        for block, connection in zip(blocks, connections, strict=True):
            if isinstance(connection, str):
                matches.append(block.unevaluated(connection))
            elif not connection.user:  # a Group no account is in: what the files say about it
                matches.append(_file_block(block, tree, build, daemon, outside))
            elif results[connection].ok:
                # sshd looks the user's groups up, so a Match Group for one of them applies to this connection too
                grouped = replace(connection, groups=connection.groups | {g for g, users in (members or {}).items()
                                                                         if connection.user in users})
                also = tuple(o.where for o in blocks if o is not block and o.applies_to(grouped))
                matches.append(MatchBlock(block.condition, block.where, connection.spec(),
                                          parse_view(results[connection].stdout), sets=block.sets, also=also))
            else:
                matches.append(block.unevaluated(explain_failure(results[connection])))
        return replace(base, view=parse_view(main.stdout), ports=base.ports or _printed_ports(main.stdout),
                       matches=tuple(matches), notes=shown)


def _relative_config(daemon: Daemon) -> str:
    """Why the file judged may not be the one a daemon started with a relative `-f` path read. Once started, sshd
    works in / whether it detaches or not (sshd.c: chdir("/")) and its title overwrites its environment (PWD): no
    trace of the folder is left, /proc/<pid>/cwd says / for every sshd."""
    who = f"sshd process {daemon.pid}" if daemon.pid else "sshd"
    return (f"{who} was started with a relative config path (-f {daemon.options.relative}), which it read from the "
            "folder it was started in; sshd works in / once started, so that folder cannot be found: the daemon's own "
            f"config file could not be located, and {daemon.options.config} was judged instead (start sshd with an "
            "absolute -f path)")


def _trusted(daemon: Daemon) -> bool:
    """Root's daemon (or one without options): its config may be given to root's `sshd -T` and read as root. A
    daemon another account started may name any config, which could include any file."""
    return daemon.uid == 0 or not daemon.options.arguments or daemon.pid is None


def _from_files(base: SshdDaemon, daemon: Daemon, tree: Tree, build: Build, outside: Connection,
                blocks: list[_Block], why: str, notes: Sequence[str]) -> SshdDaemon:
    said = f"derived from the config files, not from the daemon ({why}); compiled-in defaults of {build.name}"
    shown = (*base.notes, said, *(n for n in notes if n))
    if tree.root is None:
        return replace(base, source=FROM_FILES, notes=shown,
                       problem=f"its config file could not be read: {'; '.join(tree.problems)}")
    evaluated = evaluate(tree.root, build, outside, daemon.options.lines, daemon.options.ports)
    matches = [_file_block(block, tree, build, daemon, outside) for block in blocks]
    # As `sshd -T` would fail on it (a warn on that path too): the running daemon cannot have read the file as it
    # is now, and would not start again with it.
    refused = (f"sshd refuses this configuration ({'; '.join(evaluated.problems)}), so the running daemon is not "
               "using it as it is now and would not start again with it") if evaluated.problems else ""
    return replace(base, source=FROM_FILES, view=View(evaluated.options, evaluated.lists),
                   ports=base.ports or evaluated.ports, matches=tuple(matches), notes=shown,
                   warning="; ".join(w for w in (base.warning, refused) if w))


def _file_block(block: _Block, tree: Tree, build: Build, daemon: Daemon, outside: Connection) -> MatchBlock:
    """A Match block evaluated by the scanner's parser (a Group is carried by the connection, no real account)."""
    made = _triggering(block.criteria, None, outside)
    if isinstance(made, str) or tree.root is None:
        return block.unevaluated(str(made), FROM_FILES)
    evaluated = evaluate(tree.root, build, made, daemon.options.lines, daemon.options.ports)
    spec = made.spec() + "".join(f" (group {g})" for g in sorted(made.groups))
    return MatchBlock(block.condition, block.where, spec, View(evaluated.options, evaluated.lists), source=FROM_FILES,
                      sets=block.sets)


@record
class _Block:
    """A Match line of the files: as written, where, its criteria and the keywords its block sets."""

    condition: str
    where: str
    criteria: tuple[Criterion, ...]
    sets: tuple[str, ...]

    def unevaluated(self, why: str, source: str = FROM_DAEMON, never: str = "") -> MatchBlock:
        return MatchBlock(self.condition, self.where, not_evaluated=why, source=source, sets=self.sets,
                          never_applies=never)

    def applies_to(self, connection: Connection) -> bool:
        return not not_evaluable(self.criteria) and applies(self.criteria, connection)

    def never_applies(self, ports: Sequence[int], usedns: bool = True) -> str:
        """Why no connection to a daemon listening on `ports` matches this line ("" when one may); without UseDNS
        sshd matches `Host` against the client's address, which a name pattern never matches."""
        names = [] if usedns else [c.value for c in self.criteria if c.attribute == "host"
                                   and not may_match_an_address(c.value)]
        if names:
            shown = " and ".join(repr(v) for v in names)
            return f"UseDNS is no, so sshd matches Host against the client's address, and no address matches {shown}"
        local = {c.value for c in self.criteria if c.attribute == "localport"}
        if not ports or not local or not all(p.isdigit() for p in local):
            return ""
        if len(local) == 1 and int(next(iter(local))) in ports:  # a connection has one local port
            return ""
        listed, asked = ", ".join(str(p) for p in ports), " and ".join(sorted(local))
        return f"the daemon listens only on port {listed}, so no connection matches LocalPort {asked}"


def _blocks(tree: Tree, build: Build) -> list[_Block]:
    """Every Match line of the tree; one sshd would refuse gets a criterion that nothing evaluates."""
    blocks = []
    for line, keywords in match_lines(tree.root) if tree.root else []:
        try:
            criteria = parse_condition(line.args)
        except ValueError as exc:
            criteria = (Criterion("refused", str(exc)),)
        sets = tuple(dict.fromkeys(canonical_keyword(k, build.version) for k in keywords))
        blocks.append(_Block(f"Match {' '.join(line.args)}", line.where, criteria, sets))
    return blocks


def _triggering(criteria: Sequence[Criterion], members: Mapping[str, Sequence[str]] | None,
                outside: Connection) -> Connection | str:
    """A connection a Match line applies to (or why none); a Group no account is in gives one without a user,
    which only the files can be asked about."""
    why = not_evaluable(criteria)
    if why:
        return why
    made = trigger(criteria, members, outside)
    if isinstance(made, str) and members is not None and "member of group" in made:
        return replace(outside, user="")
    return made


def _members(host: Transport, trees: Mapping[str, Tree]) -> Mapping[str, Sequence[str]]:
    """Accounts in the groups that Match Group lines name (sshd looks them up, so a real member is needed)."""
    names = sorted({g for t in trees.values() if t.root for g in groups_named(t.root)})
    if not names:
        return {}
    return lookup_groups(host.run(cmd("getent", "group", *names)).stdout)


def _cmdlines(host: Transport, pids: Sequence[int]) -> dict[int, FileContent]:
    paths = [f"/proc/{pid}/cmdline" for pid in pids]
    return dict(zip(pids, host.read_many(paths), strict=True)) if paths else {}


def _unit_environment(host: Transport, unit: Unit | None, files: dict[str, FileContent]) -> dict[str, str]:
    """The variables the ssh unit's ExecStart may use: Environment= and its EnvironmentFile= files, in order."""
    if unit is None:
        return {}
    named = list(unit.environment_files)
    missing = [p for p in named if p not in files]
    files.update(zip(missing, host.read_many(missing), strict=True))
    environment = dict(unit.environment)
    for path in named:
        content = files[path]
        if content.exists and not content.error:
            environment.update(parse_environment(content.text))
    return environment


def _globs(result: CommandResult, command: Command, privileged: bool, blind: set[str]) -> dict[str, tuple[str, ...]]:
    """The first batch's Include matches; a folder the account may not list is expanded again as root where sudo
    works (left out here), else noted in `blind`."""
    if not result.ok:
        return {}
    matched, unlistable = parse_glob(command, result.stdout)
    if not privileged:
        blind.update(unlistable)
    return {p: m for p, m in matched.items() if not (privileged and p in unlistable)}


def _version(host: Transport) -> tuple[int, int] | None:
    for command in (SSHD_V, SSH_V):
        result = host.run(command)
        found = version_of(result.stdout + result.stderr)
        if found:
            return found
    return None


def _scanned_port(target: Target | None) -> int | None:
    """The port an SSH target was reached on (the inventory's, else ~/.ssh/config's, else 22); None when local."""
    if target is None or target.kind is not TargetKind.SSH:
        return None
    options = target.options
    if options.get("port"):
        return int(options["port"])
    if options.get("ssh_config") == "none" or "host" not in options:
        return 22
    path = options.get("ssh_config")
    return ssh_config.lookup(options["host"], Path(path) if path else None).port or 22


def _place(daemons: list[SshdDaemon], port: int | None, processes_seen: bool) -> SshdFacts:
    """Name each daemon, mark the one behind the scanned port, and put it first."""
    # Over SSH a daemon that is not running is already a warning about the scanned port (below).
    named = [replace(d, resource=_resource(d, port), serves_target=None if port is None else port in d.ports,
                     stopped=port is None and processes_seen and d.pid is None) for d in daemons]
    named.sort(key=lambda d: (not d.serves_target, d.ports or (65536,)))
    unserved = ""
    running = [d for d in named if d.pid is not None]
    if port is not None and not any(d.serves_target for d in running):
        if not running and named:
            seen = "" if processes_seen else " (ss and ps could not be read)"
            unknown = (f"no running sshd could be identified{seen}; {named[0].config} was judged, and the scanned "
                       f"port {port} may be served by another daemon")
            named[0] = replace(named[0], warning="; ".join(w for w in (unknown, named[0].warning) if w))
        elif any(not d.ports for d in running):  # ss names no process to an account without root
            unknown = "; ".join(f"{d.resource}'s ports could not be read"
                                + (f" ({'; '.join(w for w in (d.problem, d.warning) if w)})"
                                   if d.problem or d.warning else "") for d in running if not d.ports)
            unserved = (f"which sshd serves the scanned port {port} is not known: {unknown}; scan with sudo: true "
                        "(or make its config readable) to tell")
        else:
            listed = ", ".join(d.resource for d in running)
            unserved = (f"no sshd found on this host listens on the scanned port {port} (found: {listed}); the "
                        f"daemon behind port {port} (a forwarded port, a proxy or a container) was not judged")
    return SshdFacts(True, tuple(named), port, unserved)


def _resource(daemon: SshdDaemon, scanned: int | None) -> str:
    if daemon.pid is None:
        return daemon.config
    # The scanned port first (docs/targets.md): a scan of port 2222 names its daemon "port 2222, 22".
    ports = sorted(daemon.ports, key=lambda p: p != scanned)
    return "port " + ", ".join(str(p) for p in ports) if ports else f"sshd process {daemon.pid}"


def _printed_ports(text: str) -> tuple[int, ...]:
    """The ports `sshd -T` prints: its `listenaddress host:port` lines, else its `port` lines (a `Port` beside a
    `ListenAddress host:port` is printed too, but sshd does not listen on it)."""
    printed: dict[str, list[int]] = {"listenaddress": [], "port": []}
    for line in text.splitlines():
        keyword, _, value = line.partition(" ")
        port = value.rpartition(":")[2] if keyword == "listenaddress" else value if keyword == "port" else ""
        if port.strip().isdigit() and int(port) not in printed[keyword]:
            printed[keyword].append(int(port))
    return tuple(printed["listenaddress"] or printed["port"])


def explain_failure(result: CommandResult) -> str:
    """Why `sshd -T` gave no configuration: no root or sudo refused (each with what to grant), else the one
    wording every collector uses for a failed command (a broken config names its file and line there)."""
    text = result.stderr.strip()
    last = text.splitlines()[-1] if text else ""
    if "sudo:" in text:
        return (f"`sshd -T` needs root and sudo -n was refused on this target ({last}); give the scanning "
                "account a NOPASSWD sudo rule for sshd -T, or scan as root")
    if "no hostkeys available" in text or "Permission denied" in text:
        return ("`sshd -T` needs root to load the host keys; scan as root or set sudo: true for this target "
                f"({last})")
    return result.failure()


def parse_view(text: str) -> View:
    """`sshd -T` output (one `keyword value` per line) -> a View."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        keyword, _, value = line.strip().partition(" ")
        if keyword and not keyword.startswith("#"):
            options.setdefault(keyword.lower(), value.strip())
    # OpenSSH before 8.5 calls PubkeyAcceptedAlgorithms PubkeyAcceptedKeyTypes (and the hostbased one alike).
    for old, new in (("pubkeyacceptedkeytypes", "pubkeyacceptedalgorithms"),
                     ("hostbasedacceptedkeytypes", "hostbasedacceptedalgorithms")):
        if new not in options and old in options:
            options[new] = options[old]
    lists = {key: tuple(v for v in options.get(key, "").split(",") if v) for key in LISTS}
    return View(options, lists)


def parse_sshd_t(text: str) -> SshdFacts:
    """One `sshd -T` output as the facts of a single daemon (tests and recorded outputs)."""
    view = parse_view(text)
    ports = _printed_ports(text)
    resource = "port " + ", ".join(str(p) for p in ports) if ports else "sshd"
    return SshdFacts(True, (SshdDaemon(resource, view, ports=ports),))
