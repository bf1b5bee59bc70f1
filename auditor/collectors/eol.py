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
- AlmaLinux `products/almalinux.md`, Rocky Linux `products/rocky-linux.md`.

Update this table when a release is added; an unknown release is reported as "support status unknown",
never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SupportEnd", "support_end"]


@dataclass(frozen=True)
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
    "rocky": {"8": ("2029-05-31", _EOL), "9": ("2032-05-31", _EOL)},
}


def support_end(os_id: str, version_id: str) -> SupportEnd | None:
    """The support end of `ID` `VERSION_ID` from os-release; enterprise point releases ("9.4") use the major."""
    releases = _TABLE.get(os_id.strip().lower())
    version = version_id.strip()
    if not releases or not version:
        return None
    for key in (version, version.split(".")[0]):
        if key in releases:
            date, kind = releases[key]
            return SupportEnd(date, kind, f"{os_id.lower()} {key}")
    return None
