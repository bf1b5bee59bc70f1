"""systemd-journal-upload's [Upload] section (journal-upload.conf(5), read through `systemd-analyze cat-config`)."""

from __future__ import annotations

from auditor.collectors.journald import parse_journald_config
from auditor.collectors.syslog.facts import Daemon, Forward


def parse_journal_upload(text: str) -> Daemon:
    """`systemd-analyze cat-config systemd/journal-upload.conf`: the [Upload] URL and certificate check."""
    settings = parse_journald_config(text, section="Upload")
    files = tuple(line[2:].strip() for line in text.splitlines() if line.startswith("# /"))
    url = settings.get("URL", "")
    if not url:
        return Daemon("systemd-journal-upload", config_files=files)
    protocol = "http" if url.lower().startswith("http://") else "https"  # a bare host name means https
    trust = settings.get("TrustedCertificateFile", "")
    auth = "anon" if trust in ("all", "-") else "x509/name"  # curl checks the chain and the host name
    forward = Forward("systemd-journal-upload", url, protocol, protocol == "https",
                      auth if protocol == "https" else "", files[-1] if files else "")
    return Daemon("systemd-journal-upload", config_files=files, forwards=(forward,))
