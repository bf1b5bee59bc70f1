"""Facts about pending package updates: which are security updates, and how fresh the package lists are.

Debian/Ubuntu: the security updates pending are what the `*-security` package lists already on the host offer
above the installed version (auditor/collectors/_apt_security_script.py reads dpkg's status and those lists on
the target; the versions are compared here with Debian's ordering, python-debian). Like `apt list --upgradable`,
whose answer it gives for the security suites, it reads no network and writes nothing, so it is only as new as
the last `apt update`; unlike it, it costs a few tens of ms instead of building apt's whole cache (0.7 s when
pkgcache.bin is absent). Without python3 on the target (or replaying a run recorded before this fact existed),
`apt list --upgradable` is the fallback. The age of the lists is recorded next to it (the `update-success-stamp` that
`APT::Periodic` and Ubuntu write, else the mtime of /var/lib/apt/lists, the same order Ansible's apt module
uses for `cache_valid_time`). RHEL/Fedora: `dnf -C updateinfo list --security --available` from dnf's cache
(dnf4 and dnf5 print different layouts; both are parsed). Its answer is checked against `dnf repolist
--enabled`, as apt's against the security lists: with no enabled repository (an unregistered RHEL) dnf still
prints nothing and exits 0; and against the metadata in dnf's cache (a `find` of it), since with
skip_if_unavailable=True dnf -C skips an enabled repository missing from the cache without a word. The age of
dnf's lists is that of the newest primary metadata file of an enabled repository, the file dnf itself ages its
metadata by. The host's own clock (`date +%s`) is recorded so that ages are computed against the target's time,
never the scanner's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from typing import Any

from debian.debian_support import Version

from auditor.collectors._apt_security_script import SCRIPT as APT_SECURITY_SCRIPT
from auditor.collectors.base import Requests
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.errors import FactMissing
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import DIGEST, CommandResult, Transport, cmd

# -I: the target's PYTHON* variables and user site never change what this read-only script does; -S: it needs
# nothing from site-packages.
# replaces: the script's first version (2026-12-02), whose answer has the same form.
APT_SECURITY = cmd("python3", "-I", "-S", "-c", APT_SECURITY_SCRIPT, "/", timeout=60, slow=True,
                   replaces=(DIGEST + "0975f5b17eada0cc620ad37128ea886c029fabd89aa764ead8d1b5d459a50acb",))
APT_LIST = cmd("apt", "list", "--upgradable", timeout=60)
# Not lists/partial: apt touches that directory on every run, even `apt list`.
APT_STAMPS = cmd("stat", "-c", "%Y %n", "/var/lib/apt/periodic/update-success-stamp", "/var/lib/apt/lists")
DNF_SECURITY = cmd("dnf", "-q", "-C", "updateinfo", "list", "--security", "--available", sudo=True, timeout=120,
                   slow=True)
# Asked whenever dnf answered. Without sudo, so that subscription-manager's dnf plugin rewrites no redhat.repo (it
# does as root); without -v, so that neither dnf loads any metadata: it reads the repo files only.
DNF_REPOS = cmd("dnf", "-q", "-C", "repolist", "--enabled", timeout=60)
# What `dnf -C` reads: dnf 4 with -C reads system_cachedir, /var/cache/dnf, whoever runs it (dnf cli/cli.py); dnf 5
# reads /var/cache/libdnf5 as root but ~/.cache/libdnf5 as anyone else (libdnf5 conf/config_main.cpp). DNF_SECURITY
# runs as root, so the cache to look at is root's, and it is looked at as root (a hardened root umask, 027, leaves
# it unreadable to others). A repository's metadata is in <cache>/<repo id>-<16 hex>/repodata/ (libdnf Repo.cpp
# getCachedir, libdnf5 ConfigRepo::get_cachedir), repomd.xml beside the files it names; /usr/bin/dnf says which dnf
# runs (a link to dnf-3 or dnf5, as both packages install it). Reads names and times only, 3 levels deep.
DNF_CACHE = cmd("find", "/usr/bin/dnf", "/var/cache/dnf", "/var/cache/libdnf5", "-maxdepth", "3",
                "(", "-type", "l", "-o", "-path", "*/repodata/repomd.xml", "-o", "-path", "*/repodata/*primary.xml*",
                ")", "-printf", "%T@ %p %l\n", sudo=True)
# The age before DNF_CACHE existed: read only to replay a run recorded then (the directory's mtime says nothing of
# its metadata).
DNF_STAMPS = cmd("stat", "-c", "%Y %n", "/var/cache/dnf/last_makecache", "/var/cache/dnf", "/var/cache/libdnf5")
HOST_TIME = cmd("date", "+%s")

_APT_LINE = re.compile(r"^(?P<name>[^/\s]+)/(?P<suites>\S+)\s+(?P<version>\S+)\s+(?P<arch>\S+)"
                       r"\s+\[upgradable from: (?P<installed>[^\]]+)\]")
_ADVISORY = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d{4}[:-][0-9A-Za-z]+(?:-\d+)?$")
_NEVRA = re.compile(r"^(?P<name>.+)-(?:\d+:)?[^-]+-[^-]+\.(?P<arch>[A-Za-z0-9_]+)$")


@record
class PendingUpdate:
    """Attributes:
    name: the package name.
    version: the version that would be installed ("" when the tool does not say).
    origin: where it comes from: apt suites ("bookworm-security") or the dnf advisory id.
    security: the update comes from a security origin (a "-security" suite, a security advisory).
    """

    name: str
    version: str
    origin: str
    security: bool


@record
class UpdatesFacts:
    """Attributes:
    manager: the package manager that answered ("apt", "dnf") or "" when none did.
    listed: the pending-update listing was obtained (False: `problem` says why).
    pending: every pending update the listing showed (from the security lists, and dnf: security updates only).
    index_updated_at: epoch seconds of the last package-list refresh, None when it could not be read.
    index_source: which path gave `index_updated_at`.
    host_time: the target's clock (`date +%s`) in epoch seconds, None when it could not be read.
    problem: why the facts are incomplete, in words, or "".
    doubt: why a listing that was obtained may still miss security updates, in words, or "" (apt: the host has no
        package list of a security suite, so none is offered to it; dnf: it listed nothing and has no enabled
        repository, or an enabled repository has no metadata in its cache, so -C skipped it).
    """

    manager: str
    listed: bool
    pending: tuple[PendingUpdate, ...] = ()
    index_updated_at: int | None = None
    index_source: str = ""
    host_time: int | None = None
    problem: str = ""
    doubt: str = ""

    @property
    def security(self) -> tuple[PendingUpdate, ...]:
        """The pending updates that come from a security origin."""
        return tuple(u for u in self.pending if u.security)

    @property
    def index_age_days(self) -> float | None:
        """Days since the package lists were refreshed, on the host's clock."""
        if self.index_updated_at is None or self.host_time is None:
            return None
        return (self.host_time - self.index_updated_at) / 86400


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("updates", system)
    # Not DNF_CACHE: asked on dnf hosts only, so that no host without dnf is asked to run `sudo find`.
    return (APT_SECURITY, APT_STAMPS, DNF_SECURITY, HOST_TIME), ()


def collect(host: Transport, system: SystemFacts) -> UpdatesFacts:
    if system.platform in NATIVE:
        return native_collect("updates", host, system)  # type: ignore[no-any-return]
    facts = _package_manager_facts(host)
    # The clock is read last, so that a finding's evidence starts with the listing it judged, not `date +%s`.
    return dataclasses.replace(facts, host_time=parse_epoch(host.run(HOST_TIME)))


NO_SECURITY_LISTS = ("no package list of a security suite (*-security) is on the host, so no security update is "
                     "offered to it: its APT sources name no security repository, or `apt update` has not run")


# dnf 4's `updateinfo` (unlike `install` or `check-update`) never checks that a repository is enabled, and -q
# hides subscription-manager's "This system is not registered" notice: the empty answer is all there is.
NO_DNF_REPOS = ("no dnf repository is enabled on the host, so no update is offered to it and its empty list of "
                "security updates proves nothing (a Red Hat system that is not registered with subscription-manager "
                "has none); register the system (`subscription-manager register`) or enable its repositories in "
                "/etc/yum.repos.d, then run `dnf makecache`")

# With -C and skip_if_unavailable=False (libdnf's and libdnf5's default, RHEL 8+'s dnf.conf) a repository missing from
# the cache stops dnf: dnf 4 "Cache-only enabled but no cache for 'baseos'", dnf 5 "... for repository \"fedora\"".
# With True (the dnf.conf dnf 4 ships upstream, so Fedora's until dnf 5; or a repository's own file) dnf skips it,
# warns below -q's error level (dnf logging.py), lists the rest and exits 0: only DNF_CACHE shows it.
# (Patterns, not strings: the catalogue takes every sentence-like string for a message to translate.)
_NO_CACHE = re.compile(r"Cache-only enabled but no cache for")
_REPOLIST_HEADER = re.compile(r"repo id\s")
# A file of a repository's metadata in either cache: <cache>/<repo id>-<first 8 bytes of a sha256, hex>/repodata/<file>
_CACHED_FILE = re.compile(r"^(?P<cache>/var/cache/(?:dnf|libdnf5))/(?P<repo>[^/]+)-[0-9a-f]{16}/repodata/"
                          r"(?P<file>[^/]+)$")
# What /usr/bin/dnf links to -> the cache that dnf reads as root.
_DNF_CACHES = {"dnf-3": "/var/cache/dnf", "dnf4": "/var/cache/dnf", "dnf5": "/var/cache/libdnf5"}
# find exits 1 when a starting point is absent (/var/cache/libdnf5 on a dnf 4 host): that is an answer, not a failure.
_ABSENT = re.compile(r"^find: .*: No such file or directory$")


def missing_from_cache(repos: tuple[str, ...]) -> str:
    """The doubt for enabled repositories with no metadata in dnf's cache (what -C then skips)."""
    names = ", ".join(repos)
    return f"the enabled repository(ies) {names} have no metadata in dnf's cache, so their security updates were " \
           "not looked at: this listing reads only the cache, so as not to change the host, and with " \
           "skip_if_unavailable=True (in /etc/dnf/dnf.conf or the repository's file) dnf skips a repository " \
           "missing from it without a word; run `dnf makecache` as root"


def _package_manager_facts(host: Transport) -> UpdatesFacts:
    from_lists, no_lists = _security_lists(host)
    apt = None if from_lists is not None else host.run(APT_LIST)
    if apt is None or not apt.not_found:
        updated_at, source = newest_stamp(host.run(APT_STAMPS).stdout, prefer="update-success-stamp")
        if apt is None:
            return UpdatesFacts("apt", True, from_lists or (), updated_at, source)
        if not apt.ok:
            return UpdatesFacts("apt", False, (), updated_at, source, problem=apt.failure())
        return UpdatesFacts("apt", True, parse_apt_upgradable(apt.stdout), updated_at, source,
                            doubt=NO_SECURITY_LISTS if no_lists else "")
    dnf = host.run(DNF_SECURITY)
    if not dnf.not_found:
        return _dnf_facts(host, dnf)
    return UpdatesFacts("", False, problem="neither apt nor dnf is installed")


def _dnf_facts(host: Transport, dnf: CommandResult) -> UpdatesFacts:
    """dnf's listing, judged against its enabled repositories and the metadata of theirs in its cache."""
    cached = _dnf_cache(host)
    if not dnf.ok:
        problem = dnf.failure()
        if _NO_CACHE.search(dnf.stdout + dnf.stderr):
            problem = f"{problem}; dnf's cache holds no copy of a repository's metadata, and this listing " \
                      "reads only the cache so as not to change the host: run `dnf makecache` as root"
        return UpdatesFacts("dnf", False, (), *_dnf_age(host, cached, None), problem=problem)
    pending = parse_dnf_updateinfo(dnf.stdout)
    enabled = _dnf_repos(host)
    updated_at, source = _dnf_age(host, cached, enabled if isinstance(enabled, tuple) else None)
    doubts = []
    if isinstance(enabled, str) and not pending:
        failure = enabled  # the catalogue's name for it
        doubts.append(f"no security update was listed, and whether dnf has an enabled repository could not be "
                      f"read ({failure})")
    elif enabled == () and not pending:
        doubts.append(NO_DNF_REPOS)
    if isinstance(cached, str) and enabled != ():
        reason = cached
        doubts.append(f"whether dnf's cache holds the metadata of every enabled repository could not be read "
                      f"({reason}), so this listing may have skipped a repository")
    elif isinstance(cached, dict) and isinstance(enabled, tuple):
        missing = tuple(repo for repo in enabled if repo not in cached)
        if missing:
            doubts.append(missing_from_cache(missing))
    return UpdatesFacts("dnf", True, pending, updated_at, source, doubt="; ".join(doubts))


def _dnf_repos(host: Transport) -> tuple[str, ...] | str | None:
    """The enabled repository ids; why they could not be read; None in a run recorded before this fact existed."""
    try:
        result = host.run(DNF_REPOS)
    except FactMissing:  # a run recorded before this fact existed is judged as it was then
        return None
    return parse_dnf_repolist(result.stdout) if result.ok else result.failure()


def _dnf_cache(host: Transport) -> dict[str, tuple[int, str]] | str | None:
    """The repositories with metadata in the cache dnf reads (see parse_dnf_cache); why the cache could not be
    read; None in a run recorded before this fact existed."""
    try:
        result = host.run(DNF_CACHE)
    except FactMissing:
        return None
    absent_only = result.exit_status == 1 and result.stderr.strip() != "" and all(
        _ABSENT.match(line) for line in result.stderr.strip().splitlines())
    if not result.ok and not absent_only:
        return result.failure()
    return parse_dnf_cache(result.stdout)


def _dnf_age(host: Transport, cached: dict[str, tuple[int, str]] | str | None,
             enabled: tuple[str, ...] | None) -> tuple[int | None, str]:
    """When dnf last fetched, or found still current, the metadata of an enabled repository (of any cached one when
    which are enabled is unknown): the newest such primary file. A run recorded before the cache was read is
    dated as it was then, by dnf's stamps."""
    if cached is None:
        return newest_stamp(host.run(DNF_STAMPS).stdout, prefer="last_makecache")
    if isinstance(cached, str):
        return None, ""
    stamps = [cached[repo] for repo in (cached if enabled is None else enabled) if repo in cached]
    if not stamps:
        return None, ""
    updated_at, source = max(stamps)
    return updated_at, source


def _security_lists(host: Transport) -> tuple[tuple[PendingUpdate, ...] | None, bool]:
    """The pending security updates from the security lists, None when they cannot tell (fall back to apt); and
    whether the script read the host and found no security list at all (then apt's answer cannot show one)."""
    try:
        result = host.run(APT_SECURITY)
    except FactMissing:  # a run recorded before this fact existed: its `apt list` answers instead
        return None, False
    if not result.ok:
        return None, False
    try:
        found = json.loads(result.stdout)
        no_lists = isinstance(found, dict) and not found.get("error") and not found.get("errors") \
            and found.get("lists") == []
        return parse_security_lists(found), no_lists
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, False


def parse_security_lists(found: dict[str, Any]) -> tuple[PendingUpdate, ...] | None:
    """The script's JSON -> a pending update per installed package that a security list offers a newer version
    of (the newest it offers); None when the lists could not all be read."""
    if found.get("error") or found.get("errors") or not found.get("lists"):
        return None
    updates = []
    for name, offers in sorted(found["offered"].items()):
        installed = found["installed"][name]
        newer = [(_version(version), version, suite) for arch, version, suite in offers
                 if any(arch in (have, "all") and _newer(version, old) for have, old in installed.items())]
        if newer:
            _, version, suite = max(newer)
            updates.append(PendingUpdate(name, version, suite, True))
    return tuple(updates)


# A fleet's hosts mostly hold the same versions, and python-debian compares in pure Python (about 40 ms of
# scanner CPU a host before these caches): each version is parsed, and each pair compared, once a process.
@functools.lru_cache(maxsize=16384)
def _version(text: str) -> Version:
    return Version(text)


@functools.lru_cache(maxsize=16384)
def _newer(offered: str, installed: str) -> bool:
    return offered != installed and _version(offered) > _version(installed)


def parse_apt_upgradable(text: str) -> tuple[PendingUpdate, ...]:
    """`apt list --upgradable`: `name/suite[,suite] version arch [upgradable from: old]`; "Listing..." skipped."""
    updates = []
    for line in text.splitlines():
        match = _APT_LINE.match(line.strip())
        if match:
            suites = match["suites"]
            security = any("-security" in suite for suite in suites.split(","))
            updates.append(PendingUpdate(match["name"], match["version"], suites, security))
    return tuple(updates)


def parse_dnf_updateinfo(text: str) -> tuple[PendingUpdate, ...]:
    """`dnf updateinfo list`: dnf4 `ADVISORY Severity/Sec. NEVRA`, dnf5 `ADVISORY type severity NEVRA issued`."""
    updates: dict[tuple[str, str], PendingUpdate] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3 or not _ADVISORY.match(parts[0]):
            continue
        found = next(((i, m) for i, p in enumerate(parts) if i and (m := _NEVRA.match(p))), None)
        if found is None or parts[found[0]].endswith(".src"):
            continue
        index, match = found
        nevra, name = parts[index], match["name"]
        kind = " ".join(parts[1:index]).lower()
        # dnf4 marks security advisories "<Severity>/Sec."; dnf5 has a type column, cut to "secu" on narrow output.
        security = "/sec." in kind or kind.startswith("secu")
        version = nevra[len(name) + 1:].rsplit(".", 1)[0]
        updates.setdefault((name, parts[0]), PendingUpdate(name, version, parts[0], security))
    return tuple(updates.values())


def parse_dnf_repolist(text: str) -> tuple[str, ...]:
    """`dnf repolist --enabled`: the repository ids under the `repo id  repo name` header (dnf 4 and dnf 5 print
    the same two columns); none when no repository is enabled (dnf then prints nothing)."""
    ids = []
    for line in text.splitlines():
        parts = line.split()
        if parts and not _REPOLIST_HEADER.match(line):
            ids.append(parts[0])
    return tuple(ids)


def parse_dnf_cache(text: str) -> dict[str, tuple[int, str]]:
    """The collector's `find` of dnf's cache (`%T@ %p %l` lines) -> each repository whose metadata the dnf that
    /usr/bin/dnf runs has cached (its folder holds repodata/repomd.xml; either cache when the link is unknown):
    (mtime, path) of its newest primary metadata file, else of repomd.xml. dnf 4 and dnf 5 touch the primary file
    whenever they find the cached copy still current, and age the metadata by it ("Last metadata expiration
    check"); repomd.xml keeps the time it was downloaded."""
    cache = None
    found = []
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        path, _, link = rest.partition(" ")
        seconds = stamp.partition(".")[0]
        if not seconds.isdigit():
            continue
        if path == "/usr/bin/dnf":
            cache = _DNF_CACHES.get(link.strip().rsplit("/", 1)[-1])
        elif match := _CACHED_FILE.match(path):
            found.append((match["cache"], match["repo"], "repomd" if match["file"] == "repomd.xml" else "primary",
                          (int(seconds), path)))
    repos: dict[str, dict[str, tuple[int, str]]] = {}
    for where, repo, kind, stamp_path in found:
        if cache is None or where == cache:
            files = repos.setdefault(repo, {})
            files[kind] = max(files.get(kind, stamp_path), stamp_path)
    return {repo: files.get("primary", files["repomd"]) for repo, files in sorted(repos.items()) if "repomd" in files}


def newest_stamp(text: str, prefer: str) -> tuple[int | None, str]:
    """`stat -c '%Y %n'` lines -> (mtime, path): the `prefer`red file when it exists, else the newest path."""
    stamps: list[tuple[int, str]] = []
    for line in text.splitlines():
        value, _, path = line.strip().partition(" ")
        if value.isdigit() and path:
            stamps.append((int(value), path))
    for stamp in stamps:
        if stamp[1].endswith(prefer):
            return stamp
    if not stamps:
        return None, ""
    return max(stamps)


def parse_epoch(result: CommandResult) -> int | None:
    """`date +%s` -> epoch seconds, None when the command failed."""
    text = result.stdout.strip()
    return int(text) if result.ok and text.lstrip("-").isdigit() else None
