"""Facts about the target as a whole: platform, OS, hostname, architecture and privileges."""

from __future__ import annotations

from auditor.collectors.base import Requests, parse_key_values
from auditor.collectors.powershell import json_object, ps
from auditor.errors import CollectorError
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult, Transport, cmd

UNAME = cmd("uname", "-s", "-n", "-r", "-m")
USER_ID = cmd("id", "-u")
OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
SW_VERS = cmd("sw_vers")
# Windows has no uname (exit 127); Git for Windows' or MSYS's uname says MINGW64_NT-10.0-... and is not trusted.
WINDOWS_OS = ps(
    "$os = Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version,BuildNumber,OSArchitecture; "
    "$id = [Security.Principal.WindowsIdentity]::GetCurrent(); "
    "$admin = ([Security.Principal.WindowsPrincipal]$id).IsInRole("
    "[Security.Principal.WindowsBuiltInRole]::Administrator); "
    "[pscustomobject]@{Caption=$os.Caption; Version=$os.Version; BuildNumber=$os.BuildNumber; "
    "OSArchitecture=$os.OSArchitecture; ComputerName=$env:COMPUTERNAME; IsAdmin=$admin} | ConvertTo-Json")
_WINDOWS_UNAMES = ("MINGW", "MSYS", "CYGWIN", "Windows")

_PLATFORMS = {"Linux": Platform.LINUX, "Darwin": Platform.MACOS}


def requests(_: SystemFacts | None = None) -> Requests:
    return (UNAME, USER_ID), OS_RELEASE


def detect(host: Transport) -> SystemFacts:
    """Detect the platform and OS from what the host says; nothing is guessed from the inventory."""
    uname = host.run(UNAME)
    if uname.not_found or (uname.ok and uname.stdout.startswith(_WINDOWS_UNAMES)):
        return detect_windows(host.run(WINDOWS_OS), uname)
    uname.raise_for_status()
    kernel_name, hostname, kernel, architecture = parse_uname(uname.stdout)
    platform = _PLATFORMS.get(kernel_name)
    user = host.run(USER_ID)
    is_root = user.ok and user.stdout.strip() == "0"
    os_name = os_version = os_id = ""
    if platform is Platform.LINUX:
        release = parse_os_release(_first_existing(host, OS_RELEASE))
        os_name = release.get("PRETTY_NAME") or release.get("NAME", "Linux")
        os_version, os_id = release.get("VERSION_ID", ""), release.get("ID", "")
    elif platform is Platform.MACOS:
        sw_vers = parse_key_values(host.run(SW_VERS).stdout, ":")
        os_name, os_version, os_id = sw_vers.get("ProductName", "macOS"), sw_vers.get("ProductVersion", ""), "macos"
    return SystemFacts(platform, os_name, os_version, os_id, hostname, architecture, kernel, is_root)


def detect_windows(result: CommandResult, uname: CommandResult) -> SystemFacts:
    """Windows from Win32_OperatingSystem (Caption, Version, BuildNumber) and the token's Administrators role."""
    if not result.ok:
        raise CollectorError(f"{uname.failure()}, and the Windows detection (PowerShell Win32_OperatingSystem) "
                             f"failed: {result.failure()}")
    try:
        facts = json_object(result)
    except ValueError as exc:
        raise CollectorError(f"`{result.command}` did not return JSON: {exc}") from exc
    return parse_windows_os(facts)


def parse_windows_os(facts: dict[str, object]) -> SystemFacts:
    """The detection script's JSON -> SystemFacts (os_version is Version, e.g. 10.0.26100)."""
    text = {key: str(facts.get(key) or "") for key in ("Caption", "Version", "ComputerName", "OSArchitecture",
                                                        "BuildNumber")}
    return SystemFacts(Platform.WINDOWS, text["Caption"].strip() or "Windows", text["Version"], "windows",
                       text["ComputerName"], text["OSArchitecture"], text["BuildNumber"], facts.get("IsAdmin") is True)


def _first_existing(host: Transport, paths: tuple[str, ...]) -> str:
    for path in paths:
        content = host.read_file(path)
        if content.exists and not content.error:
            return content.text
    return ""


def parse_uname(text: str) -> tuple[str, str, str, str]:
    """`uname -s -n -r -m` -> (kernel name, hostname, release, machine)."""
    parts = text.split()
    if len(parts) < 4:
        parts += [""] * (4 - len(parts))
    return parts[0], parts[1], parts[2], parts[-1]


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): KEY=value lines, values optionally quoted."""
    return {k: v.strip().strip('"').strip("'") for k, v in parse_key_values(text).items()}


def collect(_: Transport, system: SystemFacts) -> SystemFacts:
    """The runner detects the system before planning; a check that asks for `system` gets those facts."""
    return system
