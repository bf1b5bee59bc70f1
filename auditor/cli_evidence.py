"""The evidence commands: keys, verify, seal, open, log verify, history, diff, schedule.

Only this module and cli.py print. Secrets come from AUDITOR_KEY_PASSPHRASE or a prompt, never a flag.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import schedule
from auditor.bundle import audit_log
from auditor.bundle.keys import (
    BUNDLE_PASSPHRASE_ENV,
    KeyPaths,
    check_new_key_folder,
    check_private,
    init_keys,
    load_private,
    passphrase,
    read_public,
)
from auditor.bundle.layout import BUNDLE_SUFFIX, RESULTS
from auditor.bundle.manifest import Outcome, Signature, verify_run
from auditor.bundle.results import read_results
from auditor.console import visible
from auditor.data_home import default_history_path, default_key_dir
from auditor.errors import InputError
from auditor.preflight import existing_file, writable_folder

if TYPE_CHECKING:  # SQLite and the drift logic load only for the commands that read the history
    from auditor.bundle import history

OK, FINDINGS = 0, 1


def _write(lines: list[str]) -> None:
    """Lines on stdout; file names, messages and target names in them come from runs and bundles, which anyone
    may have written, so their control characters are shown, never interpreted by the terminal."""
    sys.stdout.write("".join(visible(line) + "\n" for line in lines))


def add_parsers(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="the processor's signing and sealing keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, parser_class=parser_class)
    init = keys_commands.add_parser("init", help="create an Ed25519 signing key and an X25519 sealing key")
    init.add_argument("--dir", default=str(default_key_dir()), help="key folder (default %(default)s)")
    init.set_defaults(func=cmd_keys_init)

    verify = commands.add_parser("verify", help="check every hash and the signature of a run folder or bundle")
    verify.add_argument("path", metavar="RUN_DIR|BUNDLE")
    verify.add_argument("--pubkey", help="the processor's signing.pub (default: the local key folder's)")
    verify.add_argument("--key", help="for a bundle: your seal.key")
    verify.add_argument("--passphrase", action="store_true", help="for a bundle sealed to a passphrase")
    verify.add_argument("--allow-unsigned", action="store_true",
                        help="accept an intact run whose signature cannot be verified (unsigned, or no key at hand)")
    verify.set_defaults(func=cmd_verify)

    sealer = commands.add_parser("seal", help="pack a run into one AES-256-GCM file for the recipients")
    sealer.add_argument("run_dir", metavar="RUN_DIR")
    sealer.add_argument("--to", action="append", default=[], metavar="SEAL_PUB", help="recipient's seal.pub (repeat)")
    sealer.add_argument("--passphrase", action="store_true", help="also let a passphrase open it")
    sealer.add_argument("--out", help="bundle file (default: RUN_DIR.auditor-bundle)")
    sealer.set_defaults(func=cmd_seal)

    opener = commands.add_parser("open", help="decrypt a bundle, restore the run and verify it")
    opener.add_argument("bundle", metavar="BUNDLE")
    opener.add_argument("--key", help="your seal.key (default: the local key folder's)")
    opener.add_argument("--passphrase", action="store_true", help="open with the passphrase it was sealed to")
    opener.add_argument("--out", help="folder to restore into (default: BUNDLE's name without its suffix, plus "
                        "'.opened', beside it)")
    opener.add_argument("--pubkey", help="the processor's signing.pub, to check the run's signature")
    opener.add_argument("--allow-unsigned", action="store_true",
                        help="accept an intact run whose signature cannot be verified (unsigned, or no key at hand)")
    opener.set_defaults(func=cmd_open)

    log = commands.add_parser("log", help="auditor's own audit trail")
    log_commands = log.add_subparsers(dest="log_command", required=True, parser_class=parser_class)
    check = log_commands.add_parser("verify", help="detect edited, removed, reordered, forged or cut-off entries, "
                                    "and check the log against every run manifest's anchor")
    # SUPPRESS: `auditor --audit-log X log verify` checks X, as every other command writes to X.
    check.add_argument("--audit-log", default=argparse.SUPPRESS, help="the audit trail (default: auditor's)")
    check.add_argument("--reports-dir", default="reports", help="run folders whose anchors are checked (default: "
                       "reports), besides those the history knows")
    check.add_argument("--history", default=str(default_history_path()), help="history database")
    check.set_defaults(func=cmd_log_verify)

    runs = commands.add_parser("history", help="runs recorded in the history database")
    runs.add_argument("--target", help="only runs that scanned this target")
    runs.add_argument("--history", default=str(default_history_path()))
    runs.set_defaults(func=cmd_history)

    compare = commands.add_parser("diff", help="what changed between two runs")
    compare.add_argument("runs", nargs="*", metavar="RUN", help="two run ids or run folders (old, new)")
    compare.add_argument("--since-last", action="store_true", help="the newest run against the one before it")
    compare.add_argument("--history", default=str(default_history_path()))
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(func=cmd_diff)

    timer = commands.add_parser("schedule", help="write a systemd timer (or print a crontab line) for scans")
    timer.add_argument("--inventory")
    timer.add_argument("--profile")
    timer.add_argument("--every", choices=sorted(schedule.EVERY), default="daily")
    timer.add_argument("--keep", type=int, default=30, help="run folders to keep (default 30)")
    timer.add_argument("--seal-to", action="append", default=[], metavar="SEAL_PUB")
    timer.add_argument("--reports-dir", default="reports")
    timer.add_argument("--system", action="store_true", help="a system unit in /etc/systemd/system")
    timer.add_argument("--unit-dir", help="write the units here instead")
    timer.add_argument("--cron", action="store_true", help="print a crontab line instead of writing units")
    timer.set_defaults(func=cmd_schedule)


def cmd_keys_init(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    check_new_key_folder(folder)  # before the passphrase is typed twice
    prints = init_keys(folder, passphrase("protect the new private keys", confirm=True))
    sys.stdout.write(f"keys written to {folder}\n"
                     f"signing key (give signing.pub to controllers and auditors): {prints['signing']}\n"
                     f"sealing key (employees seal home scans to seal.pub):       {prints['seal']}\n"
                     f"activity log key (keep it with the others):                 {KeyPaths(folder).log_key}\n")
    return OK


# `verify` and `open`: one exit code per outcome (docs/evidence.md); only these end in "OK".
VERIFY_EXIT = {Outcome.VERIFIED: 0, Outcome.TAMPERED: 1, Outcome.INCOMPLETE: 3, Outcome.UNSIGNED: 4,
               Outcome.NOT_CHECKED: 5, Outcome.INTERRUPTED: 6}
_VERDICT = {
    Outcome.VERIFIED: "verified: every file matches its manifest and the signature is valid",
    Outcome.TAMPERED: "the run was changed after its manifest was written (signed or not), or its signature does "
                      "not verify",
    Outcome.INCOMPLETE: "the run did not finish",
    Outcome.UNSIGNED: "every file matches its manifest, but the run is NOT SIGNED: nothing proves who wrote it "
                      "(--allow-unsigned accepts it on purpose)",
    Outcome.NOT_CHECKED: "every file matches its manifest, but the signature was NOT CHECKED: no trusted key is at "
                         "hand (give --pubkey signing.pub; --allow-unsigned accepts it on purpose)",
    Outcome.INTERRUPTED: "the scan was INTERRUPTED before every target was assessed: its evidence is partial "
                         "(results.json: interrupted)",
}
_ACCEPTED = {Outcome.VERIFIED: _VERDICT[Outcome.VERIFIED],
             Outcome.UNSIGNED: "intact but NOT SIGNED, accepted with --allow-unsigned",
             Outcome.NOT_CHECKED: "intact, signature NOT CHECKED, accepted with --allow-unsigned"}


def trusted_key(path: str | None) -> bytes | None:
    """The Ed25519 key a run's signature is checked against: this signing.pub, else the key folder's, else none."""
    if path:
        return read_public(Path(path), "ed25519")
    default = KeyPaths(default_key_dir()).signing_pub
    return read_public(default, "ed25519") if default.is_file() else None


def replayed_signature(state: str) -> str:
    """How a replayed run's signature was checked, in words (a replay's results.json records the state)."""
    return {Signature.VALID.value: "its signature was verified before its evidence was used",
            Signature.ABSENT.value: "it is NOT SIGNED, so its evidence was used unverified",
            Signature.UNCHECKED.value: "its signature was NOT CHECKED (no trusted key), so its evidence was used "
                                       "unverified"}.get(state, f"signature {state or 'unknown'}")


def _print_verification(label: str, path: Path, pubkey: str | None, allow_unsigned: bool) -> int:
    found = verify_run(path, trusted_key(pubkey))
    lines = [f"{name} {f}" for name, files in (("CHANGED", found.changed), ("MISSING", found.missing),
                                                 ("ADDED", found.added)) for f in files]
    if found.manifest_sha256:
        lines.append(found.signature_text())
    if found.replayed_from:
        lines.append(f"a replay of run {found.replayed_from}: {replayed_signature(found.replayed_signature)}")
    if found.accepted(allow_unsigned):
        lines.append(f"OK: {label}: {_ACCEPTED[found.outcome]}")
        code = 0
    else:
        verdict = found.problem or _VERDICT[found.outcome]
        lines.append(f"{found.outcome.value.replace('_', ' ').upper()}: {label}: {verdict}")
        code = VERIFY_EXIT[found.outcome]
    _write(lines)
    return code


def _seal_private(path: str | None) -> Any:
    key = Path(path) if path else KeyPaths(default_key_dir()).seal_key
    check_private(key)  # before the passphrase is asked for
    return load_private(key, passphrase(f"unlock {key.name}"))


def cmd_verify(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.is_dir():
        return _print_verification(str(path), path, args.pubkey, args.allow_unsigned)
    if not path.is_file():
        raise InputError("no such run folder or bundle", str(path), "check the path")
    import tempfile

    from auditor.bundle.sealing import check_bundle, open_bundle

    check_bundle(path)  # a file that is not a bundle at all is refused before any key is asked for
    with tempfile.TemporaryDirectory() as scratch:
        restored = open_bundle(path, Path(scratch) / "run", *_opening_keys(args))
        return _print_verification(str(path), restored, args.pubkey, args.allow_unsigned)


def _opening_keys(args: argparse.Namespace) -> tuple[Any, bytes | None]:
    if args.passphrase:
        return None, passphrase("open the bundle", variable=BUNDLE_PASSPHRASE_ENV)
    return _seal_private(args.key), None


def cmd_seal(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    read_results(run_dir)
    recipients = [read_public(Path(p), "x25519") for p in args.to]
    secret = passphrase("seal the bundle", confirm=True, variable=BUNDLE_PASSPHRASE_ENV) if args.passphrase else None
    out = Path(args.out) if args.out else run_dir.with_name(run_dir.name + BUNDLE_SUFFIX)
    if run_dir.resolve() in out.resolve().parents:  # the run would hold a file its signed manifest does not list
        raise InputError("a bundle written inside the run folder would change the run (verify would name it as "
                         "ADDED)", f"--out {out}", f"omit --out (default: {run_dir}{BUNDLE_SUFFIX}) or name a file "
                         "outside the run")
    if out.exists() and not out.is_dir():  # a folder gets seal's own refusal
        raise InputError("exists; auditor never overwrites a file", f"--out {out}",
                         "name a new file, or move the old one away first")
    from auditor.bundle.sealing import seal

    seal(run_dir, out, recipients, secret)
    _write([f"sealed {run_dir} -> {out}"])
    return OK


def cmd_open(args: argparse.Namespace) -> int:
    bundle = Path(args.bundle)
    from auditor.bundle.sealing import check_bundle, open_bundle  # sealing's cryptography: only these commands

    check_bundle(bundle)  # before any key is asked for
    out = Path(args.out) if args.out else bundle.with_name(bundle.name.removesuffix(BUNDLE_SUFFIX) + ".opened")
    open_bundle(bundle, out, *_opening_keys(args))
    _write([f"restored {out}"])
    return _print_verification(str(out), out, args.pubkey, args.allow_unsigned)


def cmd_log_verify(args: argparse.Namespace) -> int:
    from auditor.bundle import history

    log, reports = Path(args.audit_log), Path(args.reports_dir)
    folders = sorted(p for p in reports.iterdir() if p.is_dir()) if reports.is_dir() else []
    folders += [Path(row.run_dir) for row in history.runs(history.location(args.history))]
    check = audit_log.verify(log, audit_log.run_anchors(folders))
    out = [f"BROKEN at {p.where} of {log}: {p.what}" if p.where.startswith(("line", "the end"))
           else f"BROKEN {p.where}: {p.what}" if p.where else f"BROKEN: {p.what}" for p in check.problems]
    out += [f"note: {note}" for note in check.notes]
    if check.problems:
        out.append(f"FAILED: {len(check.problems)} break(s) in {log} ({check.lines} lines, "
                   f"{check.runs_checked} anchored run(s) checked)")
    else:
        out.append(f"OK: {check.lines} entr{'y' if check.lines == 1 else 'ies'}, chain intact, its end matches "
                   f"the head record, {check.runs_checked} anchored run(s) found in it ({log})")
    _write(out)
    return FINDINGS if check.problems else OK


def cmd_history(args: argparse.Namespace) -> int:
    from auditor.bundle import history

    rows = history.runs(history.location(args.history), args.target)
    if not rows:
        sys.stdout.write("no runs recorded yet\n")
    for row in rows:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(row.counts.items()))
        # `--keep` prunes folders the history still lists, and a team's shared history names other machines' ones
        where = row.run_dir if Path(row.run_dir).is_dir() else f"{row.run_dir} (not here: pruned, moved, or on " \
            "another machine)"
        _write([f"{row.run_id}  {row.started_at}  {len(row.targets)} target(s)  {counts}  {where}"])
    return OK


def _side_of(reference: str, db: history.Location) -> history.RunSide:
    """A run folder, or a run id recorded in the history."""
    from auditor.bundle import history

    folder = Path(reference)
    if (folder / RESULTS).is_file():
        return history.side_of_run(read_results(folder), folder)
    try:
        return history.side_of_history(db, reference)
    except KeyError:
        raise InputError(f"no run {reference!r} in the history and no such run folder", "diff",
                         "see `auditor history`") from None


def _profile_line(change: history.Drift) -> str:
    if change.profile_changed is None:
        return "profile: unknown for one of the runs"
    if not change.profile_changed:
        return f"profile: the same ({change.new_profile_sha256[:12]})"
    return f"profile: CHANGED ({change.old_profile_sha256[:12]} -> {change.new_profile_sha256[:12]})"


def cmd_diff(args: argparse.Namespace) -> int:
    from auditor.bundle import history

    db = history.location(args.history)
    if args.since_last:
        recorded = history.runs(db)
        if len(recorded) < 2:
            raise InputError("fewer than two runs are recorded", "--since-last", "scan at least twice first")
        references = [recorded[-2].run_id, recorded[-1].run_id]
    elif len(args.runs) == 2:
        references = list(args.runs)
    else:
        raise InputError("give two runs (old new) or --since-last", "diff", "e.g. auditor diff RUN_A RUN_B")
    change = history.compare(_side_of(references[0], db), _side_of(references[1], db))
    if args.json:
        sys.stdout.write(json.dumps(change.document(), indent=2) + "\n")
        return OK
    out = [f"{change.old} -> {change.new}", _profile_line(change)]
    out += [f"  {line}" for line in change.profile_differences]
    for title, items in (("new failures", change.new_failures), ("fixed", change.fixed),
                         ("still failing", change.still_failing)):
        out.append(f"{title}: {len(items)}")
        out += [f"  {i['check_id']} {i['target']} {i['resource']}".rstrip() + f": {i['message']}" for i in items]
    for title, items in (("changed by the profile, not the host", change.by_profile),
                         ("failed before, not checked now", change.not_checked)):
        out.append(f"{title}: {len(items)}")
        out += [f"  {i['check_id']} {i['target'] or 'organisation'} {i['resource']}".rstrip()
                + f": {i['before']} -> {i['status']} ({i['cause']})" for i in items]
    out.append(f"new targets: {', '.join(change.new_targets) or 'none'}")
    out.append(f"removed targets: {', '.join(change.removed_targets) or 'none'}")
    out.append(f"waivers expired since: {', '.join(change.expired_waivers) or 'none'}")
    _write(out)
    return OK


def _check_scheduled_inputs(inventory: str | None, profile_path: str | None) -> None:
    """Read the inventory and profile as each scheduled scan will: one that a scan refuses would fail every run,
    unattended, so it is refused now, in the scan's own words, while someone is looking."""
    from auditor.inventory import load_inventory
    from auditor.pipeline import load_checks
    from auditor.profile import load_profile

    profile = load_profile(profile_path)
    load_checks(profile)  # the check ids the profile names (profile.validate) are known only with the checks
    if inventory:
        profile.validate_targets((t.name for t in load_inventory(inventory)), inventory)


def cmd_schedule(args: argparse.Namespace) -> int:
    if args.keep < 1:
        raise InputError("--keep must be at least 1", "--keep", "e.g. --keep 30")
    for recipient in args.seal_to:
        read_public(Path(recipient), "x25519", "--seal-to")
    for flag, named in (("--inventory", args.inventory), ("--profile", args.profile)):
        if named:  # every scheduled scan would fail on it: refused now, while someone is looking
            existing_file(Path(named), flag, "give a file that exists; the timer's scans read it")
    _check_scheduled_inputs(args.inventory, args.profile)
    env_file = Path("/etc/auditor/env") if args.system else Path.home() / ".config" / "auditor" / "env"
    plan = schedule.Schedule(args.every, schedule.scan_arguments(args.inventory, args.profile,
                                                                 Path(args.reports_dir), args.keep, args.seal_to),
                             Path.cwd(), env_file)
    if args.cron:
        sys.stdout.write(schedule.cron_line(plan) + "\n")
        return OK
    systemd_folder = Path("/etc/systemd/system") if args.system else Path.home() / ".config" / "systemd" / "user"
    folder = Path(args.unit_dir) if args.unit_dir else systemd_folder
    writable_folder(folder, "--unit-dir")
    written = schedule.write_units(plan, folder)
    sys.stdout.write("\n".join(str(p) for p in written) + "\n"
                     + schedule.enable_advice(written, folder, systemd_folder, args.system) + "\n"
                     f"put AUDITOR_KEY_PASSPHRASE=... in {env_file} (mode 0600) to sign each run\n")
    if shutil.which("systemd-analyze") is None:
        sys.stdout.write("(systemd-analyze is not installed here, so the units were not verified)\n")
    return OK
