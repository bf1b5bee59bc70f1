"""End of public security support per Linux release: a small shipped table, looked up by os-release ID and
VERSION_ID.

The date is the last day on which the vendor (or its free long-term-support team) still publishes security
updates without a paid contract: Debian LTS, Ubuntu standard support (not ESM/Ubuntu Pro), RHEL maintenance
support (not ELS), Fedora's end of life. Sources, read 2026-11 (endoflife.date keeps its data in the
endoflife-date/endoflife.date repository, one file per product):

- Debian: endoflife.date `products/debian.md` ("eoes", the Debian LTS end) and the Debian LTS team's
  announcements (10 "buster" LTS ended 2024-06-30; 11 "bullseye" LTS until 2026-08-31). For 12 endoflife.date
  says 2028-06-10 while the Debian LTS schedule (wiki.debian.org/LTS, quoted by debian.club/en/eol) says
  2028-06-30; the LTS team's date is used. 13 "trixie": LTS until 2030-06-30 (same schedule).
- Ubuntu: endoflife.date `products/ubuntu.md` ("eol", end of standard support): 20.04 2025-05-31,
  22.04 2027-04-01 (not 2027-06), 24.04 2029-05-31; interim releases nine months after release.
- Fedora: endoflife.date `products/fedora.md`: 39 2024-11-26, 40 2025-05-13, 41 2025-12-15, 42 2026-05-13,
  43 2026-12-09.
- RHEL: endoflife.date `products/rhel.md` (end of maintenance support): 8 2029-05-31, 9 2032-05-31;
  RHEL 10 follows the same ten-year policy (2035-05-31, as AlmaLinux 10 in `products/almalinux.md`).
- AlmaLinux `products/almalinux.md`, Rocky Linux `products/rocky-linux.md` ("eol"; Rocky 10: 2035-05-31 in
  the file as of commit a70eca33, 2026-08-22, and the SUPPORT_END Rocky 10's os-release ships).

- Windows (by build number, Microsoft lifecycle pages "Windows 11 Home and Pro" / "Enterprise and Education",
  "Windows 10 Home and Pro", "Windows Server 2022"): 19045 (10 22H2) 2025-10-14 for all editions (ESU is paid);
  22621 (11 22H2) 2024-10-08, Enterprise/Education 2025-10-14; 22631 (23H2) 2025-11-11 / 2026-11-10;
  26100 (24H2) 2026-10-13 / 2027-10-12; 26200 (25H2) 2027-10-12 / 2028-10-10; 20348 (Server 2022) 2031-10-14.
- macOS: Apple publishes no end dates; it ships security updates for the newest release and the two before it
  (Apple security releases page, support.apple.com/100100). The dates below are when the release dropped out
  (12 Monterey with macOS 15, 2024-09-16; 13 Ventura with macOS 26, 2025-09-15) or is expected to (14 with the
  2026 release, 15 and 26 one and two years later), and are marked "expected".

Update this table when a release is added; an unknown release is reported as "support status unknown",
never guessed.
"""

from __future__ import annotations

from auditor.records import record

__all__ = ["SupportEnd", "support_end"]


@record
class SupportEnd:
    """Attributes:
    date: ISO date (YYYY-MM-DD) of the last day of free security support.
    kind: which support phase ends then ("LTS", "standard support", "maintenance support", "end of life").
    release: the table key that matched, e.g. "debian 12".
    """

    date: str
    kind: str
    release: str


_LTS, _STANDARD, _MAINTENANCE, _EOL = "LTS", "standard support", "maintenance support", "end of life"

_TABLE: dict[str, dict[str, tuple[str, str]]] = {
    "debian": {
        "9": ("2022-06-30", _LTS), "10": ("2024-06-30", _LTS), "11": ("2026-08-31", _LTS),
        "12": ("2028-06-30", _LTS), "13": ("2030-06-30", _LTS),
    },
    "ubuntu": {
        "18.04": ("2023-05-31", _STANDARD), "20.04": ("2025-05-31", _STANDARD), "22.04": ("2027-04-01", _STANDARD),
        "24.04": ("2029-05-31", _STANDARD), "24.10": ("2025-07-10", _STANDARD), "25.04": ("2026-01-17", _STANDARD),
        "25.10": ("2026-07-01", _STANDARD), "26.04": ("2031-04-30", _STANDARD),
    },
    "fedora": {
        "38": ("2024-05-21", _EOL), "39": ("2024-11-26", _EOL), "40": ("2025-05-13", _EOL),
        "41": ("2025-12-15", _EOL), "42": ("2026-05-13", _EOL), "43": ("2026-12-09", _EOL),
    },
    "rhel": {"7": ("2024-06-30", _MAINTENANCE), "8": ("2029-05-31", _MAINTENANCE), "9": ("2032-05-31", _MAINTENANCE),
             "10": ("2035-05-31", _MAINTENANCE)},
    "almalinux": {"8": ("2029-03-01", _EOL), "9": ("2032-05-31", _EOL), "10": ("2035-05-31", _EOL)},
    "rocky": {"8": ("2029-05-31", _EOL), "9": ("2032-05-31", _EOL), "10": ("2035-05-31", _EOL)},
}


_WINDOWS: dict[str, tuple[str, str]] = {  # build -> (Home/Pro, Enterprise/Education)
    "19045": ("2025-10-14", "2025-10-14"), "22621": ("2024-10-08", "2025-10-14"),
    "22631": ("2025-11-11", "2026-11-10"), "26100": ("2026-10-13", "2027-10-12"),
    "26200": ("2027-10-12", "2028-10-10"), "20348": ("2031-10-14", "2031-10-14"),
}
_MACOS = {"11": ("2023-09-26", _EOL), "12": ("2024-09-16", _EOL), "13": ("2025-09-15", _EOL),
          "14": ("2026-09-15", "expected end of security updates"),
          "15": ("2027-09-15", "expected end of security updates"),
          "26": ("2028-09-15", "expected end of security updates")}


def support_end(os_id: str, version_id: str, os_name: str = "") -> SupportEnd | None:
    """The support end of `ID` `VERSION_ID` from os-release; enterprise point releases ("9.4") use the major.
    Windows is looked up by build (the last part of 10.0.26100), its edition read from `os_name`."""
    if os_id == "windows":
        build = version_id.rsplit(".", 1)[-1]
        if build not in _WINDOWS:
            return None
        enterprise = any(word in os_name for word in ("Enterprise", "Education", "Server"))
        return SupportEnd(_WINDOWS[build][enterprise], "servicing (security updates)", f"windows build {build}")
    if os_id == "macos":
        major = version_id.split(".")[0]
        return SupportEnd(*_MACOS[major], f"macos {major}") if major in _MACOS else None
    releases = _TABLE.get(os_id.strip().lower())
    version = version_id.strip()
    if not releases or not version:
        return None
    for key in (version, version.split(".")[0]):
        if key in releases:
            date, kind = releases[key]
            return SupportEnd(date, kind, f"{os_id.lower()} {key}")
    return None
