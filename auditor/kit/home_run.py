"""What a home kit runs in its private venv (`python -m auditor.kit.home_run --kit DIR`): the home scan sealed to
the kit's key in the kit's language, the HTML summary beside the sealed file, and the unsealed run folder removed.

The launcher (templates/launch.py, run by the Python it found) asks `--admin-reasons` first when it has no
administrator rights: a quick scan without them, unsealed and then deleted, names the checks that were skipped for
want of rights, so the employee is asked for them only when a check on this computer needs them, and told why.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from auditor import cli
from auditor.bundle.layout import BUNDLE_SUFFIX
from auditor.bundle.results import read_results
from auditor.console import make_console
from auditor.home_summary import home_lines
from auditor.kit.summary_html import summary_html
from auditor.models import Status
from auditor.report.messages import Words

_SUMMARY = {"en": "what-to-fix.html", "da": "det-skal-rettes.html"}
_WORDS = {
    "en": {"summary": "A summary of what to fix, to open in your browser:", "failed": "The check did not finish "
           "(see above); nothing was sealed. Run it again, or send the lines above to your IT contact.",
           "enter": "Press Enter to close this window.",
           "hand_in": "The file to hand in (sealed: only your IT or security contact can open it):"},
    "da": {"summary": "Et overblik over, hvad der skal rettes, til at åbne i din browser:", "failed": "Kontrollen "
           "blev ikke færdig (se ovenfor); intet blev forseglet. Kør den igen, eller send linjerne ovenfor til din "
           "IT-kontakt.", "enter": "Tryk Enter for at lukke vinduet.",
           "hand_in": "Filen, du skal aflevere (forseglet: kun din IT- eller sikkerhedskontakt kan åbne den):"},
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the kit's home scan; returns auditor's exit code."""
    parser = argparse.ArgumentParser(prog="auditor.kit.home_run")
    parser.add_argument("--kit", required=True, help="the kit's folder (kit.json, seal.pub, profile.yaml)")
    parser.add_argument("--results", required=True, help="where the sealed file and the summary go")
    parser.add_argument("--keep", action="store_true", help="keep the unsealed run folder too")
    parser.add_argument("--admin-reasons", action="store_true",
                        help="print the checks that need administrator rights on this computer, one a line, and stop")
    parser.add_argument("--pause", action="store_true", help="wait for Enter at the end (an elevated window)")
    args = parser.parse_args(argv)
    kit = Path(args.kit)
    settings = json.loads((kit / "kit.json").read_text(encoding="utf-8"))
    # What a scan keeps besides its results (its activity log's key) stays in the kit's folder, whoever runs it:
    # the employee's home is left as it was, and an elevated run and a plain one share one log key.
    os.environ["XDG_CONFIG_HOME"] = str((kit / "state" / "config").resolve())
    profile = str(kit / settings["profile"]) if settings.get("profile") else None
    if args.admin_reasons:
        words = Words(_lang(settings["lang"]))  # the employee reads the check titles in the kit's language
        sys.stdout.writelines(f"{words.text(title)}\n" for title in admin_reasons(kit, profile))
        return 0
    code = _scan(kit, Path(args.results), settings["lang"], profile, args.keep)
    if args.pause:
        input(_WORDS[_lang(settings["lang"])]["enter"])
    return code


def admin_reasons(kit: Path, profile: str | None) -> list[str]:
    """The titles of the checks a scan without administrator rights skipped for want of them, on this computer."""
    with tempfile.TemporaryDirectory(prefix="auditor-kit-") as scratch:
        run_dir = Path(scratch) / "run"
        argv = ["--audit-log", str(Path(scratch) / "audit.log"), "scan", "--home", "--quiet", "--format", "none",
                "--no-history", "--no-sign", "--out", str(run_dir)]
        cli.main([*argv, "--profile", profile] if profile else argv)
        if not (run_dir / "results.json").is_file():
            return []
        result = read_results(run_dir)
    skipped = {f.check_id for f in result.findings()
               if f.status is Status.SKIPPED and ("root" in f.skip_reason or "sudo" in f.skip_reason)}
    return sorted({result.checks[c].title if c in result.checks else c for c in skipped})


def _scan(kit: Path, results: Path, lang: str, profile: str | None, keep: bool) -> int:
    results.mkdir(parents=True, exist_ok=True)
    before = set(results.iterdir())
    argv = ["--audit-log", str(kit / "state" / "audit.log"), "scan", "--home", "--seal-to", str(kit / "seal.pub"),
            "--lang", lang, "--format", "none", "--no-history", "--no-sign", "--reports-dir", str(results)]
    code = cli.main([*argv, "--profile", profile] if profile else argv)
    runs = [p for p in results.iterdir() if p not in before and p.is_dir()]
    bundle = runs[0].with_name(runs[0].name + BUNDLE_SUFFIX) if len(runs) == 1 else None
    console = make_console()
    words = _WORDS[_lang(lang)]
    if bundle is None or not bundle.is_file():
        console.print(words["failed"], markup=False)
        return code or 3
    run_dir = runs[0]
    summary = results / f"{run_dir.name}.{_SUMMARY[_lang(lang)]}"
    summary.write_text(summary_html(home_lines(read_results(run_dir), bundle, lang), lang), encoding="utf-8")
    if not keep:  # the sealed bundle holds everything; the readable copy must not stay on a home computer
        shutil.rmtree(run_dir)
    _give_back(results)
    _give_back(kit / "state")  # the activity log and its key: the next, unelevated run appends to them
    console.print(f"\n{words['summary']}\n{summary.resolve()}\n\n{words['hand_in']}\n{bundle.resolve()}",
                  markup=False, soft_wrap=True)
    return code


def _lang(lang: str) -> str:
    return "da" if lang == "da" else "en"


def _give_back(folder: Path) -> None:
    """Run with sudo, the files belong to root: hand them to the employee who started the launcher."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if uid and gid and hasattr(os, "chown") and folder.is_dir():
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, int(uid), int(gid))


if __name__ == "__main__":
    sys.exit(main())
