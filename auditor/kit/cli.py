"""`auditor kit build`: the parser and its command (auditor/cli.py adds them with one line)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.kit import OPERATING_SYSTEMS
from auditor.preflight import writable_folder
from auditor.report import LANGUAGES


def add_parsers(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add `kit build` to the `auditor` command line."""
    kit = commands.add_parser("kit", help="the home kit: employees scan their own computer with one double-click")
    kit_commands = kit.add_subparsers(dest="kit_command", required=True, parser_class=parser_class)
    build = kit_commands.add_parser("build", help="build one offline kit (folder and zip) per operating system")
    build.add_argument("--seal-to", required=True, metavar="SEAL_PUB",
                       help="the processor's seal.pub: every employee's result is sealed to it")
    build.add_argument("--profile", help="the controller's profile YAML (default: the built-in default)")
    build.add_argument("--os", default=",".join(OPERATING_SYSTEMS), type=_systems,
                       help=f"comma-separated: {', '.join(OPERATING_SYSTEMS)} (default: all)")
    build.add_argument("--lang", choices=LANGUAGES, default="en", help="the language employees read (en, da)")
    build.add_argument("--out", default="kit", help="folder to write the kits into (default: kit)")
    build.add_argument("--wheelhouse", help="take every dependency's wheel from this folder only (offline); "
                       "default: download them with pip")
    build.add_argument("--auditor-wheel", help="the auditor wheel to ship (default: built from this source tree)")
    build.set_defaults(func=cmd_kit_build)


def cmd_kit_build(args: argparse.Namespace) -> int:
    """Build the kits and say where they are and how big."""
    from auditor.kit.build import PYTHON_VERSIONS, KitRequest, build_kits

    writable_folder(Path(args.out), "--out")  # before minutes of downloading, not after
    request = KitRequest(seal_to=Path(args.seal_to), profile=Path(args.profile) if args.profile else None,
                         systems=args.os, lang=args.lang, out=Path(args.out),
                         wheelhouse=Path(args.wheelhouse) if args.wheelhouse else None,
                         auditor_wheel=Path(args.auditor_wheel) if args.auditor_wheel else None)
    for kit in build_kits(request):
        sys.stderr.write(f"{kit.system}: {kit.folder} and {kit.zip_file} ({kit.zip_file.stat().st_size / 1e6:.1f} MB,"
                         f" {kit.wheels} wheels for Python {', '.join(PYTHON_VERSIONS)})\n")
    return 0


def _systems(text: str) -> list[str]:
    chosen = list(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    unknown = [s for s in chosen if s not in OPERATING_SYSTEMS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown operating system {', '.join(unknown) or repr(text)}; use a "
                                         f"comma-separated list of {', '.join(OPERATING_SYSTEMS)}")
    return chosen
