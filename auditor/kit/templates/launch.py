"""The home kit's launcher logic, run by the Python the double-clicked launcher found (standard library only).

Makes a private venv beside the kit, installs auditor into it from the kit's own wheels (offline, every wheel
pinned by sha256), asks for administrator rights only when a check on this system needs them (saying why), runs
the home scan and opens the folder that holds the sealed file. `--keep` keeps the unsealed run folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parent
HERE = KIT.parent
WORDS = {
    "en": {
        "python": "This needs Python 3.11 or newer. {where}",
        "venv": "Python cannot make a private environment here ({error}). {fix}",
        "installing": "Preparing the check (only the first time; nothing is downloaded)...",
        "install_failed": "The check could not be prepared; send these lines to your IT contact.",
        "admin": "Some settings can only be read with administrator rights:\n{reasons}\n"
                 "You are asked for your password (or to allow the program) so that the check can read them. "
                 "It changes nothing. If you say no, the check runs without them and the summary says what it missed.",
        "no_admin": "Running without administrator rights.",
        "apt_venv": "On Debian or Ubuntu, install it with: sudo apt install python3-venv",
    },
    "da": {
        "python": "Der skal bruges Python 3.11 eller nyere. {where}",
        "venv": "Python kan ikke lave et privat miljø her ({error}). {fix}",
        "installing": "Gør kontrollen klar (kun første gang; intet hentes fra nettet)...",
        "install_failed": "Kontrollen kunne ikke gøres klar; send disse linjer til din IT-kontakt.",
        "admin": "Nogle indstillinger kan kun læses med administratorrettigheder:\n{reasons}\n"
                 "Du bliver bedt om din adgangskode (eller om at tillade programmet), så kontrollen kan læse dem. "
                 "Den ændrer intet. Siger du nej, kører kontrollen uden, og overblikket siger, hvad den ikke så.",
        "no_admin": "Kører uden administratorrettigheder.",
        "apt_venv": "På Debian eller Ubuntu installerer du det med: sudo apt install python3-venv",
    },
}
WHERE = {
    "windows": "Install Python 3.12 from the Microsoft Store (search for Python 3.12) or from python.org/downloads.",
    "macos": "Download it from python.org/downloads/macos and install it, then double-click again.",
    "linux": "Install python3 with your system's software centre (or: sudo apt install python3 python3-venv).",
}
WHERE_DA = {
    "windows": "Installér Python 3.12 fra Microsoft Store (søg efter Python 3.12) eller fra python.org/downloads.",
    "macos": "Hent det fra python.org/downloads/macos, installér det, og dobbeltklik så igen.",
    "linux": "Installér python3 med systemets softwarecenter (eller: sudo apt install python3 python3-venv).",
}


def main(argv: list[str]) -> int:
    settings = json.loads((KIT / "kit.json").read_text(encoding="utf-8"))
    words = WORDS.get(settings["lang"], WORDS["en"])
    system = "windows" if os.name == "nt" else "macos" if sys.platform == "darwin" else "linux"
    if sys.version_info < (3, 11):  # noqa: UP036 - the launcher may have found an older Python
        print(words["python"].format(where=(WHERE_DA if settings["lang"] == "da" else WHERE)[system]))
        return 3
    python = private_python(words)
    if python is None:
        return 3
    run = [str(python), "-m", "auditor.kit.home_run", "--kit", str(KIT), "--results", str(HERE / "results")]
    run += ["--keep"] if "--keep" in argv else []
    reasons = [] if is_admin() else [r for r in subprocess.run([*run, "--admin-reasons"], capture_output=True,
                                                               text=True, check=False).stdout.split("\n") if r.strip()]
    code = None
    if reasons:
        # flushed: the scan that follows writes to the same terminal or file, and these lines come first
        print(words["admin"].format(reasons="\n".join(f"  - {r}" for r in reasons)), flush=True)
        code = run_as_admin(run, system)
        if code is None:
            print(words["no_admin"], flush=True)
    if code is None:
        code = subprocess.run(run, check=False).returncode
    open_folder(HERE / "results", system)
    return code


def pip_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The employee's environment without pip's settings: a pip.conf or PIP_* variable made for their own work
    (a target folder, --user, another index, no binary wheels) must not change what the kit installs, nor where.
    pip's log goes to kit/pip.log instead, for whoever helps when the install fails."""
    return {**{k: v for k, v in environ.items() if not k.upper().startswith("PIP_")}, "PIP_CONFIG_FILE": os.devnull}


def private_python(words: dict[str, str]) -> Path | None:
    """The venv's Python, made and filled from the kit's wheels on the first run; None when that failed."""
    venv = KIT / "venv"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = venv / "installed-from.txt"
    wanted = (KIT / "requirements.txt").read_text(encoding="utf-8")
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return python
    print(words["installing"], flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False)
    if made.returncode:
        error = (made.stdout + made.stderr).strip().splitlines()[-1:] or ["?"]
        print(words["venv"].format(error=error[0], fix=words["apt_venv"] if sys.platform.startswith("linux") else ""))
        return None
    installed = subprocess.run([str(python), "-I", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                "--no-index", "--find-links", str(KIT / "wheels"), "--only-binary=:all:",
                                "--require-hashes", "--log", str(KIT / "pip.log"), "-r", str(KIT / "requirements.txt")],
                               env=pip_environment(os.environ), check=False)
    if installed.returncode:
        print(words["install_failed"])
        return None
    stamp.write_text(wanted, encoding="utf-8")
    return python


def is_admin() -> bool:
    if os.name == "nt":
        import ctypes

        return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    return hasattr(os, "geteuid") and os.geteuid() == 0


def run_as_admin(run: list[str], system: str) -> int | None:
    """The scan's exit code when it ran with administrator rights; None when they were refused or unavailable."""
    if system == "windows":
        # Windows asks (UAC) and runs the scan in a new window, which waits for Enter before it closes.
        quoted = ",".join("'" + part.replace("'", "''") + "'" for part in [*run[1:], "--pause"])
        script = (f"try {{ $p = Start-Process -FilePath '{run[0]}' -ArgumentList {quoted} -Verb RunAs -Wait "
                  "-PassThru -ErrorAction Stop; exit $p.ExitCode } catch { exit 200 }")
        done = subprocess.run(["powershell", "-NoProfile", "-Command", script], check=False)
        return None if done.returncode == 200 else done.returncode
    if shutil.which("sudo") is None or subprocess.run(["sudo", "-v"], check=False).returncode:
        return None
    return subprocess.run(["sudo", "--", *run], check=False).returncode


def open_folder(folder: Path, system: str) -> None:
    """Show the folder with the sealed file (best effort: a computer without a desktop just has the path)."""
    if os.environ.get("AUDITOR_KIT_NO_OPEN"):
        return
    try:
        if system == "windows":
            os.startfile(str(folder))  # type: ignore[attr-defined]
        elif system == "macos":
            subprocess.run(["open", str(folder)], check=False)
        elif shutil.which("xdg-open") and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            subprocess.run(["xdg-open", str(folder)], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
