"""The `auditor` command line: scan, replay, report, checks, profile (and, in cli_evidence.py, the evidence
commands). Only the cli modules and console.py print."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from auditor import __version__, gc_settings
from auditor.bundle import audit_log
from auditor.bundle.keys import PASSPHRASE_ENV, KeyPaths, load_private, passphrase, read_public
from auditor.bundle.layout import PROFILE, REPORTS_SUFFIX
from auditor.bundle.manifest import replayable
from auditor.bundle.results import read_results, to_document
from auditor.clock import SystemClock
from auditor.console import ProgressDisplay, VisibleFormatter, make_console, print_home_summary, print_summary, visible
from auditor.data_home import default_history_path, default_key_dir, default_log_path
from auditor.errors import AuditorError, ExitCode, InputError
from auditor.extras import require_for_targets, require_formats, usable_formats
from auditor.models import CheckSpec, Location, Role, ScanResult, Target
from auditor.preflight import existing_file, writable_folder
from auditor.report import LANGUAGES
from auditor.report.render import DEFAULT_FORMATS, FORMATS, parse_formats

if TYPE_CHECKING:
    from auditor.bundle.manifest import Verification
    from auditor.console import Output
    from auditor.pipeline import RunOutcome
    from auditor.profile import Profile

# What only some commands use is imported by them: the scan pipeline and the profile loader (every command builds
# this parser, `auditor --version` included), the history's SQLite, the profile views.


# The commands of cli_evidence.py, which is imported only when one of them is typed (start-up time).
_EVIDENCE_COMMANDS = ("keys", "verify", "seal", "open", "log", "history", "diff", "schedule")

# Flags whose value is no path (every other flag's is a file or folder, where an empty value means ".").
_NOT_PATHS = frozenset({"allow", "broker", "check", "concurrency", "every", "format", "keep", "lang", "location",
                        "loglevel", "max_payload", "os", "redeliver_after", "role", "skip", "target", "workers", "zone",
                        "zone_timeout"})


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, asking the terminal's width only when help is written: add_argument makes one for
    every flag only to check its metavar, and the width's shutil (with bz2 and lzma) cost every start 2 ms."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, width=80)  # set in format_help
        self._asked = (max_help_position, width)

    def format_help(self) -> str:
        max_help_position, width = self._asked
        if width is None:
            import shutil

            width = shutil.get_terminal_size().columns - 2
        self._width = width
        self._max_help_position = min(max_help_position, max(width - 20, self._indent_increment * 2))
        return super().format_help()


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, and exit code 2; a flag is only ever its full name
    (no prefix matching: `--hom` is not `--home`), an empty value is refused, and a near miss gets a did-you-mean."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE_ERROR, f"auditor: {message} (see `{self.prog} --help`)\n")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # Only what the user typed comes through here (defaults do not); a subcommand's words are its own to check.
        if action.nargs not in (argparse.PARSER, argparse.REMAINDER) and any(not s.strip() for s in arg_strings):
            if action.dest in _NOT_PATHS:  # "the current folder" would puzzle whoever typed --format ""
                raise argparse.ArgumentError(action, f"an empty value is not allowed; give a value or leave out "
                                                     f"{action.option_strings[0]}")
            raise argparse.ArgumentError(action, "an empty value is not allowed (as a path it would mean the "
                                                 "current folder)")
        return super()._get_values(action, arg_strings)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is None or value in action.choices:
            return
        choices = [str(c) for c in action.choices]
        hint = _did_you_mean(str(value), choices) or f"choose from {', '.join(choices)}"
        if isinstance(action, argparse._SubParsersAction):
            raise argparse.ArgumentError(None, f"unknown command {value!r} for `{self.prog}`; {hint}")
        raise argparse.ArgumentError(action, f"invalid choice {value!r}; {hint}")


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """auditor's commands. With `only` set to the command word typed, only that command's parser is built; the
    others are registered by name alone, for the did-you-mean of a typo. Building every command's parser was
    10-15 ms of each start (argparse looks its words up with gettext for each parser)."""

    only: str | None = None

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self.only is None or name == self.only:
            return super().add_parser(name, **kwargs)
        self._name_parser_map[name] = None  # never parsed into: the word typed is `only`
        return _Unbuilt()


class _Unbuilt:
    """The parser of a command that is not being run: what is added to it is dropped."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


def _command_word(argv: Sequence[str]) -> str | None:
    """The command typed (`scan` in `auditor --audit-log F scan ...`), or None when a flag such as --help or
    --version comes first: then every command's parser is built."""
    rest = list(argv)
    while rest and (rest[0] == "--audit-log" or rest[0].startswith("--audit-log=")):
        rest = rest[2:] if rest[0] == "--audit-log" else rest[1:]
    return rest[0] if rest and not rest[0].startswith("-") else None


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """'did you mean X?' for the closest candidate, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.7)
    return f"did you mean {close[0]}?" if close else ""


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse, refusing unknown flags in one line with the closest flag of the command they were given to."""
    args, unknown = parser.parse_known_args(argv)
    if not unknown:
        return args
    chosen = parser
    while True:  # down to the (sub)command that was chosen: its flags are the ones meant
        sub = next((a for a in chosen._actions if isinstance(a, argparse._SubParsersAction)), None)
        name = getattr(args, sub.dest, None) if sub else None
        if sub is None or name not in sub.choices:
            break
        chosen = sub.choices[name]
    flags = [f for a in chosen._actions for f in a.option_strings]
    hint = _did_you_mean(unknown[0].split("=", 1)[0], flags) if unknown[0].startswith("-") else ""
    chosen.error(f"unrecognized arguments: {' '.join(unknown)}" + (f"; {hint}" if hint else ""))


def _execute(args: argparse.Namespace, profile: Profile, targets: Sequence[Target], replay_from: Path | None,
             replayed: Verification | None = None, replayed_results: ScanResult | None = None) -> RunOutcome:
    """Run the scan pipeline with the flags of `scan` or `replay`, then show what it left."""
    from auditor.pipeline import RunRequest
    from auditor.pipeline import run as run_pipeline

    formats, note = usable_formats(args.format)
    if note and not getattr(args, "home", False):  # a home scan needs no report: nothing to say
        sys.stderr.write(f"auditor: {note}\n")
    seal_to = [read_public(Path(p), "x25519", "--seal-to") for p in args.seal_to]
    _check_outputs(args)  # before the passphrase prompt and the scan: a refusal costs nothing and leaves nothing
    request = RunRequest(
        profile=profile, targets=targets, reports_dir=Path(args.reports_dir),
        out=Path(args.out) if args.out else None, replay_from=replay_from, replayed=replayed,
        replayed_results=replayed_results,
        only=args.check, skip=args.skip, workers=args.workers,
        trust_new_host_keys=getattr(args, "trust_new_host_keys", False),
        legacy_ssh=getattr(args, "legacy_ssh", False), formats=formats, lang=args.lang,
        signer=_signer(args), seal_to=seal_to,
        history=None if args.no_history else _history(args.history),
        audit_head=_log_anchor(args), keep=args.keep, broker=_broker(args, targets),
        zone_answer_within=getattr(args, "zone_timeout", 60.0),
    )
    if args.quiet or args.json:  # nothing is drawn while it runs, so rich is not even imported
        outcome = run_pipeline(request, clock=SystemClock())
        _show(args, None, outcome)
        return outcome
    console = make_console()
    if getattr(args, "home", False):  # an employee reads plain words only: the summary, not a fleet's progress lines
        outcome = run_pipeline(request, clock=SystemClock())
        _show(args, console, outcome)
        return outcome
    from auditor.zones.progress import with_zones

    # A replay draws without rich's refresh thread, so that it can fork its workers (auditor/forked.py); its
    # targets finish one after another, each redrawing the table, where a scan's may wait minutes on a host.
    with ProgressDisplay(console, targets, redraw_thread=replay_from is None) as display:
        outcome = run_pipeline(request, clock=SystemClock(), observer=with_zones(display, console, targets))
    _show(args, console, outcome)
    return outcome


def _check_outputs(args: argparse.Namespace) -> None:
    """Every folder and file a scan or replay writes, tried before any work; creates nothing."""
    reports = Path(args.reports_dir)
    if args.out:
        writable_folder(Path(args.out), "--out")
    else:
        writable_folder(reports, "--reports-dir")
    if args.keep:
        if args.out and not reports.is_dir() and Path(args.out).resolve().parent != reports.resolve():
            raise InputError(f"prunes old run folders in --reports-dir {reports}, which does not exist", "--keep",
                             "drop --keep, or give --reports-dir the folder that holds the runs")
        writable_folder(reports, "--reports-dir")
    if not args.no_history:
        from auditor.bundle import history

        history.check_writable(_history(args.history))


def _broker(args: argparse.Namespace, targets: Sequence[Target]) -> Any:
    """The broker zoned targets are dispatched through (--broker, else the inventory's broker:), or None."""
    url = _broker_url(args, targets)
    if not url or getattr(args, "run_dir", None):
        return None
    from auditor.zones.app import PASSWORD_ENV, BrokerSettings

    return BrokerSettings(url, os.environ.get(PASSWORD_ENV, ""), args.broker_ca)


def _broker_url(args: argparse.Namespace, targets: Sequence[Target]) -> str | None:
    """--broker, else the inventory's `broker:`; read only when a target names a zone (an Ansible inventory,
    which has neither, is never read as YAML here)."""
    if not any(t.options.get("zone") for t in targets):
        return None
    from auditor.inventory import load_broker

    url: str | None = getattr(args, "broker", None) or (
        load_broker(args.inventory) if getattr(args, "inventory", None) else None)
    return url


def _history(value: str) -> Any:
    """The history: a SQLite file, or a postgresql:// URL kept as written (bundle/history_pg.py)."""
    from auditor.bundle import history

    return history.location(value)


def cmd_worker(args: argparse.Namespace) -> ExitCode:
    for flag, value in (("--concurrency", args.concurrency), ("--max-payload", args.max_payload),
                        ("--redeliver-after", args.redeliver_after)):
        if value < 1:
            raise InputError(f"must be at least 1, got {value}", flag, f"e.g. the default: omit {flag}")
    if args.broker_ca:
        existing_file(Path(args.broker_ca), "--broker-ca", "give the CA certificate (PEM) of Redis's TLS")
    if args.answer_from and not Path(args.answer_from).is_dir():
        raise InputError("is not a run folder", f"--answer-from {args.answer_from}", "give a recorded run folder")
    from auditor.zones.worker import run

    return ExitCode(run(args))


def _log_anchor(args: argparse.Namespace) -> str:
    """Where the audit log stands as the run begins (its manifest records it); a damaged log starts a new
    segment and says so, an unwritable one leaves the run unanchored: neither stops the scan."""
    try:
        written = audit_log.anchor(Path(args.audit_log), clock=SystemClock())
    except (OSError, AuditorError) as exc:
        sys.stderr.write(f"auditor: the run is not anchored in the audit trail {args.audit_log}: {visible(str(exc))}\n")
        return ""
    if written.segment:
        sys.stderr.write(f"auditor: {written.segment}\n")
    return written.anchor


def _show(args: argparse.Namespace, console: Output | None, outcome: RunOutcome) -> None:
    """What a run left, on stderr (console: the one that drew the progress, if any)."""
    if outcome.report_error:
        (console or make_console()).print(f"auditor: {visible(outcome.report_error)}", markup=False)
    if args.json:
        # ASCII with \u escapes: a target's C1 controls and bidi overrides never reach a terminal raw.
        sys.stdout.write(json.dumps(to_document(outcome.result), indent=2, default=str) + "\n")
        return
    if args.quiet:
        return
    console = console or make_console()
    if getattr(args, "home", False):  # an employee reads this: plain words, the file to hand in last
        print_home_summary(console, outcome.result, outcome.bundle, args.lang)
        return
    if outcome.reports:
        console.print("Reports: " + ", ".join(str(p) for p in outcome.reports), soft_wrap=True, markup=False)
    print_summary(console, outcome.result, str(outcome.run_dir))
    if outcome.bundle:
        console.print(f"Sealed bundle: {outcome.bundle}", markup=False)
    if outcome.result.replayed_from:
        from auditor.cli_evidence import replayed_signature

        console.print(f"Replayed run {outcome.result.replayed_from}: "
                      f"{replayed_signature(outcome.result.replayed_signature)}", markup=False)
    if not outcome.signed:
        console.print("The run is not signed (no signing key: see `auditor keys init`).", markup=False)


def _signer(args: argparse.Namespace) -> Any:
    """The signing key, unlocked before the scan so a wrong passphrase costs no scan; None means unsigned."""
    if args.no_sign:
        return None
    path = Path(args.sign_key) if args.sign_key else KeyPaths(default_key_dir()).signing_key
    if path.exists():
        existing_file(path, "--sign-key", "give the signing.key file made by `auditor keys init`")
    if not path.is_file():
        if args.sign_key:
            raise InputError("signing key not found", f"--sign-key {path}", "run `auditor keys init` first")
        return None
    # Unset, without a terminal: unsigned, and said. Set but empty (`AUDITOR_KEY_PASSPHRASE=` in an env file) is a
    # mistake, not "unset": passphrase() refuses it, as keys init does, whether or not a terminal is there.
    if PASSPHRASE_ENV not in os.environ and not sys.stdin.isatty():
        make_console().print(f"auditor: {PASSPHRASE_ENV} is not set, so this run is not signed", markup=False)
        return None
    return load_private(path, passphrase(f"unlock the signing key {path}"))


def cmd_report(args: argparse.Namespace) -> ExitCode:
    from auditor.report.render import render_reports

    run_dir = Path(args.run_dir)
    read_results(run_dir)  # a clear error for a folder that is not a run
    require_formats(args.format)
    out_dir = _report_dir(run_dir, args.out)
    try:
        writable_folder(out_dir, "--out")
    except InputError as exc:
        if args.out:
            raise
        # The folder was auditor's choice, not a flag the user gave: name it as that, and the flag that moves it.
        raise InputError(exc.what, f"the report folder {out_dir} (beside the run)",
                         "give --out a folder you can write to") from None
    console = make_console()
    try:
        written = render_reports(run_dir, args.format, args.lang, out_dir)
    except OSError as exc:
        console.print(f"auditor: the report could not be written ({exc}); the evidence is intact in {run_dir}",
                      markup=False)
        return ExitCode.INCOMPLETE
    console.print("Reports: " + ", ".join(str(p) for p in written), soft_wrap=True, markup=False)
    return ExitCode.OK


def _report_dir(run_dir: Path, out: str | None) -> Path:
    """Where `auditor report` writes: <run>.report/ beside the run, or --out; never inside the run, whose
    signed manifest would then name the new files as ADDED."""
    run = run_dir.resolve()
    default = run.with_name(run.name + REPORTS_SUFFIX)
    chosen = Path(out).resolve() if out else default
    if chosen == run or run in chosen.parents:
        raise InputError("reports written inside the run folder would change a finished run (verify would "
                         "name them as ADDED)", f"--out {out}", f"omit --out (default: {default}) or name a "
                         "folder outside the run")
    return chosen


def cmd_scan(args: argparse.Namespace) -> RunOutcome:
    from auditor.inventory import load_inventory, this_machine
    from auditor.profile import load_profile

    for flag, value in (("--role", args.role), ("--location", args.location)):
        if value is not None and args.home:
            raise InputError("is ignored by --home, which scans this machine as a workstation at home", flag,
                             f"drop {flag}, or drop --home")
        if value is not None and args.inventory:
            raise InputError("describes this machine, which is not scanned with --inventory (each target there has "
                             "its own role: and location:)", flag, f"drop {flag}, or set it in the inventory")
    profile = load_profile(args.profile)
    if args.inventory:
        if args.home:
            raise InputError("--home scans this machine; it does not take an inventory", "--home",
                             "drop --inventory, or drop --home")
        targets = load_inventory(args.inventory)
        # Only with an inventory: without one the target is this machine, under a profile written for a fleet
        # (the home kit's), and a replay's targets are one run's, not every target the controller's profile knows.
        profile.validate_targets((t.name for t in targets), args.inventory)
        require_for_targets(targets)  # one line naming the extra, before any target is touched
    elif args.home:
        targets = this_machine(Role.WORKSTATION, Location.HOME)
    else:
        targets = this_machine(Role(args.role or Role.WORKSTATION.value),
                               Location(args.location or Location.OFFICE.value))
    if args.broker_ca:
        existing_file(Path(args.broker_ca), "--broker-ca", "give the CA certificate (PEM) of Redis's TLS")
    from auditor.zones.task import check_zones

    check_zones(targets, _broker_url(args, targets))
    return _execute(args, profile, targets, None)


def cmd_replay(args: argparse.Namespace) -> RunOutcome:
    from auditor.cli_evidence import trusted_key
    from auditor.profile import load_profile, load_stored_profile

    source = Path(args.run_dir)
    # First: nothing of a run that does not verify is read.
    verified = replayable(source, trusted_key(args.pubkey), args.allow_unsigned)
    previous = read_results(source, findings=False)
    if args.profile:
        profile = load_profile(args.profile)
    else:
        stored = source / PROFILE
        profile = load_stored_profile(stored) if stored.is_file() else load_profile(None)
    assessed = [t.target for t in previous.targets if not t.connection_error]
    if not assessed:
        raise InputError("no target of that run was assessed, so there is no evidence to replay", str(source))
    return _execute(args, profile, assessed, source, verified, previous)


def cmd_checks_list(args: argparse.Namespace) -> ExitCode:
    from auditor.pipeline import load_checks
    from auditor.profile import load_profile

    checks = load_checks(load_profile(args.profile))
    fmt = "json" if args.json else args.format
    if fmt == "json":
        listed_at = SystemClock().now()  # a listing of checks, not a run: its times are never shown
        rows = to_document(ScanResult("", __version__, listed_at, listed_at, "", "", checks, ()))["checks"]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write("| id | title | severity | requirements | platforms | roles |\n"
                         "| --- | --- | --- | --- | --- | --- |\n")
        for spec in checks.values():
            sys.stdout.write(f"| {spec.id} | {spec.title} | {spec.severity.value} | {', '.join(spec.requirements)}"
                             f" | {', '.join(sorted(p.value for p in spec.platforms))} | {_roles(spec)} |\n")
    else:
        _print_table(["id", "title", "severity", "requirements", "platforms", "roles", "pack"],
                     [(s.id, s.title, s.severity.value, ", ".join(s.requirements),
                       ", ".join(sorted(p.value for p in s.platforms)), _roles(s), s.pack) for s in checks.values()],
                     f"{len(checks)} checks")
    return ExitCode.OK


def _roles(spec: CheckSpec) -> str:
    """The roles a check concerns, as `checks list` shows them: "all" when it is not limited to some."""
    return ", ".join(sorted(r.value for r in spec.roles)) or "all"


def cmd_profile_show(args: argparse.Namespace) -> ExitCode:
    from auditor.pipeline import load_checks
    from auditor.profile import load_profile
    from auditor.profile_views import matrix

    profile = load_profile(args.profile)
    rows = matrix(profile, load_checks(profile))
    if args.markdown:
        sys.stdout.write("| requirement | title | checks | attestations | not provable by scanning |\n"
                         "| --- | --- | --- | --- | --- |\n")
        sys.stdout.writelines("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |\n" for row in rows)
        return ExitCode.OK
    _print_table(["requirement", "title", "checks", "attestations", "not provable by scanning"], rows,
                 f"profile {profile.name} · sha256 {profile.sha256[:16]}…")
    return ExitCode.OK


def cmd_profile_params(args: argparse.Namespace) -> ExitCode:
    from auditor.profile import load_profile
    from auditor.profile_views import parameter_rows

    profile = load_profile(args.profile)
    _print_table(["parameter", "type", "default", "value", "requirement", "meaning"], parameter_rows(profile),
                 f"profile {profile.name}")
    return ExitCode.OK


def cmd_profile_diff(args: argparse.Namespace) -> ExitCode:
    from auditor.profile import load_profile
    from auditor.profile_views import diff

    left, right = load_profile(_default_or(args.a)), load_profile(_default_or(args.b))
    lines = diff(left, right)
    sys.stdout.write("\n".join(lines) + "\n" if lines else "no differences\n")
    return ExitCode.OK


def _default_or(path: str) -> str | None:
    return None if path == "default" else path


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]], title: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from auditor.console import rich_console

    table = Table(*header, title=title, title_justify="left", show_lines=True)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    rich_console(stderr=False).print(table)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `only`, that command's alone is built (see _Commands)."""
    parser = _Parser(prog="auditor", description="Audit hosts against the data-processing agreement's "
                     "security measures and keep every fact as evidence.")
    parser.add_argument("--version", action="version", version=f"auditor {__version__}")
    parser.add_argument("--audit-log", default=str(default_log_path()),
                        help="auditor's own audit trail (default %(default)s)")
    # prog given, as argparse would make it (no positional comes before the command): it formats no usage for it
    commands = cast(_Commands, parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                                     action=_Commands, prog=parser.prog))
    commands.only = only

    def run_flags(p: argparse.ArgumentParser, profile_default: str, workers: int = 8,
                  workers_are: str = "targets scanned at once") -> None:
        p.add_argument("--profile", help=f"controller profile YAML (default: {profile_default})")
        p.add_argument("--out", help="run folder to write (default: reports/<run-id>); must be new or empty")
        p.add_argument("--check", action="append", default=[], metavar="ID", help="run only this check (repeat)")
        p.add_argument("--skip", action="append", default=[], metavar="ID", help="skip this check (repeat)")
        p.add_argument("--workers", type=_positive, default=workers,
                       help=f"{workers_are} (default {workers})")
        p.add_argument("--quiet", action="store_true", help="print nothing but errors")
        p.add_argument("--json", action="store_true", help="print results.json on stdout")
        report_flags(p, default=DEFAULT_FORMATS)
        p.add_argument("--reports-dir", default="reports", help="parent of run folders (default: reports)")
        p.add_argument("--keep", type=_not_negative, default=0,
                       help="keep only the newest N run folders there (0: all)")
        p.add_argument("--seal-to", action="append", default=[], metavar="SEAL_PUB",
                       help="also seal the run to this recipient's seal.pub (repeat)")
        p.add_argument("--sign-key", help="signing key (default: the key folder's signing.key when it exists)")
        p.add_argument("--no-sign", action="store_true", help="do not sign the run manifest")
        p.add_argument("--history", default=str(default_history_path()),
                       help="history database: a SQLite file, or postgresql://… shared by a team")
        p.add_argument("--no-history", action="store_true", help="do not record the run in the history")

    def report_flags(p: argparse.ArgumentParser, default: Sequence[str]) -> None:
        p.add_argument("--format", type=_formats, default=list(default),
                       help=f"report formats, comma-separated: {', '.join(FORMATS)} "
                            f"(default: {','.join(default) or 'none'}; 'none' for no report)")
        p.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the report (en, da)")

    scan = commands.add_parser("scan", help="scan the inventory's targets (default: this machine)")
    scan.add_argument("--inventory", help="inventory YAML (default: this machine only)")
    # No default here: given with --inventory or --home, either flag would be ignored, so cmd_scan refuses it.
    scan.add_argument("--role", choices=[r.value for r in Role],
                      help=f"role of this machine when no inventory is given (default {Role.WORKSTATION.value})")
    scan.add_argument("--location", choices=[loc.value for loc in Location],
                      help=f"location of this machine when no inventory is given (default {Location.OFFICE.value})")
    scan.add_argument("--home", action="store_true",
                      help="an employee's home scan: this machine as a workstation at home, with a plain summary")
    scan.add_argument("--trust-new-host-keys", action="store_true",
                      help="accept SSH host keys not yet in known_hosts (each is recorded in the evidence); "
                           "a changed key is always refused")
    scan.add_argument("--legacy-ssh", action="store_true",
                      help="log in to SSH servers that offer only legacy algorithms (SHA-1 key exchange, ssh-rsa "
                           "host keys, CBC/3DES); SSH-0100 records that the login used them")
    scan.add_argument("--broker", help="redis:// or rediss:// URL that targets with a zone: are dispatched "
                      "through (default: the inventory's broker:; docs/zones.md)")
    scan.add_argument("--broker-ca", default="", help="CA file of Redis's TLS certificate (rediss://)")
    scan.add_argument("--zone-timeout", type=_seconds, default=60.0,
                      help="seconds a zone's worker has to take a target before it is not assessed (default 60)")
    run_flags(scan, "the built-in default profile")
    scan.set_defaults(func=cmd_scan)

    worker = commands.add_parser("worker", help="collect the targets of one zone for coordinators (Celery on Redis)")
    if not isinstance(worker, _Unbuilt):  # the worker's module only for its own command (start-up time)
        from auditor.zones.worker import add_arguments as worker_flags

        worker_flags(worker)
    worker.set_defaults(func=cmd_worker)

    replay = commands.add_parser("replay", help="re-evaluate a run's stored evidence without touching any host")
    replay.add_argument("run_dir", metavar="RUN_DIR")
    # A replay waits on no host: its work is CPU, so its workers are processes, one per core (threads under one
    # GIL only contend: 200 targets took 6 s with one thread, 11 s with eight).
    run_flags(replay, "the profile stored in RUN_DIR", workers=min(8, os.cpu_count() or 1),
              workers_are="processes re-evaluating targets at once, on Linux; elsewhere one at a time")
    replay.add_argument("--pubkey", help="signing.pub that RUN_DIR's signature is checked against before its "
                        "evidence is used (default: the key folder's)")
    replay.add_argument("--allow-unsigned", action="store_true",
                        help="replay an intact but unsigned RUN_DIR although a signing key is at hand")
    replay.set_defaults(func=cmd_replay)

    report = commands.add_parser("report", help="render a run folder's reports again (no host is touched)")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.add_argument("--out", help="folder for the report files, outside the run (default: RUN_DIR.report "
                        "beside it)")
    report_flags(report, default=DEFAULT_FORMATS)
    report.set_defaults(func=cmd_report)

    checks = commands.add_parser("checks", help="the installed checks")
    checks_commands = checks.add_subparsers(dest="checks_command", required=True, parser_class=_Parser)
    listing = checks_commands.add_parser("list", help="list every check of every installed pack")
    listing.add_argument("--format", choices=["table", "json", "markdown"], default="table")
    listing.add_argument("--json", action="store_true", help="same as --format json")
    listing.add_argument("--profile", help=argparse.SUPPRESS)
    listing.set_defaults(func=cmd_checks_list)

    if only is None or only in _EVIDENCE_COMMANDS:
        from auditor.cli_evidence import add_parsers as add_evidence_parsers

        add_evidence_parsers(commands, _Parser)
    else:  # known by name alone, as every command not typed is
        for name in _EVIDENCE_COMMANDS:
            commands.add_parser(name)
    if only in (None, "kit"):  # the kit's module only for its own command (start-up time)
        from auditor.kit.cli import add_parsers as add_kit_parsers

        add_kit_parsers(commands, _Parser)
    else:
        commands.add_parser("kit")

    profile = commands.add_parser("profile", help="the controller's profile: requirements, parameters, changes")
    profile_commands = profile.add_subparsers(dest="profile_command", required=True, parser_class=_Parser)
    show = profile_commands.add_parser("show", help="requirement -> checks / attestations matrix")
    show.add_argument("--profile", help="controller profile YAML (default: the built-in default)")
    show.add_argument("--markdown", action="store_true", help="a Markdown table (for a README or a ticket)")
    show.set_defaults(func=cmd_profile_show)
    params = profile_commands.add_parser("params", help="every parameter: type, default, value, meaning")
    params.add_argument("--profile", help="controller profile YAML (default: the built-in default)")
    params.set_defaults(func=cmd_profile_params)
    compare = profile_commands.add_parser("diff", help="what profile B changes relative to A ('default' allowed)")
    compare.add_argument("a", metavar="A")
    compare.add_argument("b", metavar="B")
    compare.set_defaults(func=cmd_profile_diff)
    return parser


def _formats(text: str) -> list[str]:
    if text.strip().lower() == "none":
        return []
    try:
        return list(parse_formats(text))
    except InputError as exc:
        raise argparse.ArgumentTypeError(f"{exc.what}; {exc.fix}") from None


def _not_negative(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 86400:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0 and at most 86400, got {text!r}")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 256, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    gc_settings.for_many_small_objects()
    # Empty means the default, as for every auditor variable; logging itself takes only upper case, and raises on
    # a name it does not know (a traceback before any command ran).
    given = os.environ.get("AUDITOR_LOG_LEVEL", "")
    level = given.strip().upper() or "WARNING"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        sys.stderr.write(f"auditor: AUDITOR_LOG_LEVEL: unknown log level {visible(repr(given[:40]))}; use DEBUG, "
                         "INFO, WARNING, ERROR or CRITICAL, or unset it\n")
        return int(ExitCode.USAGE_ERROR)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:  # a log line may quote a target: control characters made visible
        handler.setFormatter(VisibleFormatter("%(levelname)s %(message)s"))
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(build_parser(_command_word(argv)), argv)
    try:
        _refuse_foreign_log(Path(args.audit_log), argv)
    except InputError as exc:  # before the command: it would be recorded in that file
        sys.stderr.write(f"auditor: {visible(str(exc))}\n")
        return int(ExitCode.USAGE_ERROR)
    outcome = _dispatch(args)
    code, run_id, targets = (outcome, "", []) if isinstance(outcome, int) else \
        (outcome.code, outcome.result.run_id, [t.target.name for t in outcome.result.targets])
    command = " ".join([args.command, *(v for k, v in vars(args).items() if k.endswith("_command"))])
    try:
        written = audit_log.append(Path(args.audit_log), command, argv, int(code), run_id=run_id, targets=targets,
                                   clock=SystemClock())
    except (OSError, AuditorError) as exc:
        sys.stderr.write(f"auditor: could not append to the audit trail {args.audit_log}: {exc}\n")
    else:
        if written.segment:
            sys.stderr.write(f"auditor: {written.segment}\n")
    # What is alive now lives until the process ends: frozen, it is not walked by the two full collections of
    # Python's exit (6-10 ms after a scan).
    gc.freeze()
    return int(code)


def _refuse_foreign_log(path: Path, argv: Sequence[str]) -> None:
    """Refuse an audit trail that is some other file. Every command appends a JSON line (and writes a head record
    beside it), so `--audit-log inv.yaml`, a flag put before the wrong value, would damage the inventory. A log
    auditor wrote has its head record beside it, or begins with an entry ('{"'): a damaged log of auditor's own is
    never refused here (it gets a new segment, and the command runs)."""
    import stat

    from auditor.files import READ_INPUT_FLAGS

    if Path(f"{path}.head").exists():
        return
    try:
        descriptor = os.open(path, READ_INPUT_FLAGS)  # without blocking: a FIFO is not waited on
    except OSError:
        return  # missing (a new log) or unreadable: the append says why, and never stops the command
    with os.fdopen(descriptor, "rb") as handle:
        start = handle.read(2) if stat.S_ISREG(os.fstat(descriptor).st_mode) else b'{"'
    if start and start != b'{"':
        given = "--audit-log" if any(a == "--audit-log" or a.startswith("--audit-log=") for a in argv) else \
            "AUDITOR_AUDIT_LOG" if os.environ.get("AUDITOR_AUDIT_LOG") else "the default audit trail"
        raise InputError("is not an auditor audit trail (it does not begin with an entry); auditor appends to no "
                         "other file", f"{given} {path}", "name auditor's audit.log, or a new file")


def _dispatch(args: argparse.Namespace) -> int | RunOutcome:
    try:
        outcome = args.func(args)
        return int(outcome) if isinstance(outcome, int) else outcome
    except InputError as exc:
        sys.stderr.write(f"auditor: {visible(str(exc))}\n")
        return ExitCode.USAGE_ERROR
    except AuditorError as exc:  # a bundle's or a target's words may be quoted: shown, never interpreted
        sys.stderr.write(f"auditor: {visible(str(exc))}\n")
        return ExitCode.INCOMPLETE
    except KeyboardInterrupt:
        sys.stderr.write("auditor: interrupted\n")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
