"""The reader that runs ON THE TARGET (`python3 -I -S -c SCRIPT ROOT`): which installed packages a security suite has
a version of, read from files apt already keeps. Stdlib only, Python 3.6+, read-only.

`apt list --upgradable` builds apt's whole package cache in memory when /var/cache/apt/pkgcache.bin is absent
(Docker's docker-clean and many minimal images remove it): 0.7-0.8 s of CPU on a stock Debian 12, on every
scan. The answer to "is a security update pending?" needs far less: dpkg's status (what is installed) and the
`*-security_*_Packages` lists (what the security suites offer), a few MB. This script prints, as JSON, the
installed version of each package a security list mentions and every version the security lists offer for
it; the scanner compares them with Debian's version ordering (auditor/collectors/updates.py), so no version
logic runs on the target. Compressed lists are read with apt's own `apt-helper cat-file` (lz4, zstd, xz, gz:
whatever apt wrote), falling back to Python's gzip/lzma. It reads bytes, and imports nothing it can do without
(json's re, subprocess, glob, site: 20-30 ms of a start-up that runs on every target of a fleet). ROOT ("/" on
a real host) lets tests point it at a copy of a host's files.
"""

from __future__ import annotations

SCRIPT = r'''
import os, sys
try:
    from _json import encode_basestring_ascii as quote  # json's own C quoting, without json's import of re
except ImportError:
    from json import dumps as quote

ROOT = sys.argv[1] if len(sys.argv) > 1 else "/"
STATUS = os.path.join(ROOT, "var/lib/dpkg/status")
LISTS = os.path.join(ROOT, "var/lib/apt/lists")
HELPER = "/usr/lib/apt/apt-helper"
errors = []


def text(value):
    return value.decode("utf-8", "replace")


def field(block, name):
    """The value of a field that starts a line of the paragraph (not its first), b"" when absent."""
    start = block.find(b"\n" + name + b":")
    if start < 0:
        return b""
    start += len(name) + 2
    end = block.find(b"\n", start)
    return block[start:] if end < 0 else block[start:end]


def stanzas(data, wanted=None):
    """(package, paragraph) of each paragraph; with `wanted`, only those packages' (the lists are large)."""
    for block in data.split(b"\n\n"):
        if not block.startswith(b"Package: "):
            block = block.lstrip(b"\n")
            if not block.startswith(b"Package: "):
                continue
        end = block.find(b"\n")
        package = text(block[9:] if end < 0 else block[9:end]).strip()
        if wanted is None or package in wanted:
            yield package, block


def helper_cat(path):
    """(wait status, output) of `apt-helper cat-file PATH`; fork and exec, as subprocess's import costs more."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(write_end, 1)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            os.execv(HELPER, [HELPER, "cat-file", path])
        finally:
            os._exit(127)
    os.close(write_end)
    chunks = []
    chunk = os.read(read_end, 1 << 20)
    while chunk:
        chunks.append(chunk)
        chunk = os.read(read_end, 1 << 20)
    os.close(read_end)
    return os.waitpid(pid, 0)[1], b"".join(chunks)


def read_list(path):
    if path.endswith((".lz4", ".zst", ".xz", ".gz", ".bz2")) and os.access(HELPER, os.X_OK):
        status, data = helper_cat(path)
        if status == 0:
            return data
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        errors.append("%s: apt-helper cat-file exited %d" % (path, code))
    if path.endswith((".lz4", ".zst", ".bz2")):
        errors.append("%s: no apt-helper to decompress it" % path)
        return b""
    if path.endswith(".gz"):
        import gzip
        opener = gzip.open
    elif path.endswith(".xz"):
        import lzma
        opener = lzma.open
    else:
        opener = open
    with opener(path, "rb") as handle:
        return handle.read()


def dumps(value):
    """JSON, as json.dumps(value, sort_keys=True) writes it, of strings in lists and dicts."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dict):
        return "{" + ", ".join(quote(key) + ": " + dumps(value[key]) for key in sorted(value)) + "}"
    return "[" + ", ".join(dumps(item) for item in value) + "]"


installed = {}
try:
    with open(STATUS, "rb") as handle:
        for package, block in stanzas(handle.read()):
            if field(block, b"Status").rstrip().endswith(b" installed"):
                installed.setdefault(package, {})[text(field(block, b"Architecture")).strip()] = \
                    text(field(block, b"Version")).strip()
except OSError as exc:
    print(dumps({"error": "%s: %s" % (STATUS, exc.strerror)}))
    sys.exit(2)

try:
    names = sorted(name for name in os.listdir(LISTS) if not name.startswith(".")
                   and "_Packages" in name.partition("-security_")[2])  # the glob *-security_*_Packages*
except OSError:
    names = []
lists, offered = [], {}
for name in names:
    suite = name.split("_dists_", 1)[-1].split("_", 1)[0]
    lists.append(name)
    try:
        data = read_list(os.path.join(LISTS, name))
    except Exception as exc:  # OSError, EOFError, a decompressor's error: the list is named as unread
        errors.append("%s: %s" % (name, exc))
        continue
    for package, block in stanzas(data, installed):
        arch = text(field(block, b"Architecture")).strip()
        if arch in installed[package] or arch == "all":
            offered.setdefault(package, []).append([arch, text(field(block, b"Version")).strip(), suite])

print(dumps({"lists": lists, "errors": errors,
             "installed": {p: installed[p] for p in sorted(offered)}, "offered": offered}))
'''
