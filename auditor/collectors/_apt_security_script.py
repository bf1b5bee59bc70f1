"""The reader that runs ON THE TARGET (`python3 -c SCRIPT ROOT`): which installed packages a security suite has
a version of, read from files apt already keeps. Stdlib only, Python 3.6+, read-only.

`apt list --upgradable` builds apt's whole package cache in memory when /var/cache/apt/pkgcache.bin is absent
(Docker's docker-clean and many minimal images remove it): 0.7-0.8 s of CPU on a stock Debian 12, on every
scan. The answer to "is a security update pending?" needs far less: dpkg's status (what is installed) and the
`*-security_*_Packages` lists (what the security suites offer), a few MB. This script prints, as JSON, the
installed version of each package a security list mentions and every version the security lists offer for
it; the scanner compares them with Debian's version ordering (auditor/collectors/updates.py), so no version
logic runs on the target. Compressed lists are read with apt's own `apt-helper cat-file` (lz4, zstd, xz, gz:
whatever apt wrote), falling back to Python's gzip/lzma. ROOT ("/" on a real host) lets tests point it at a
copy of a host's files.
"""

from __future__ import annotations

SCRIPT = r'''
import glob, gzip, json, lzma, os, subprocess, sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "/"
STATUS = os.path.join(ROOT, "var/lib/dpkg/status")
LISTS = os.path.join(ROOT, "var/lib/apt/lists")
HELPER = "/usr/lib/apt/apt-helper"
errors = []


def stanzas(text, wanted=None):
    """Each paragraph's fields; with `wanted`, only the paragraphs of those packages (the lists are large)."""
    for block in text.split("\n\n"):
        if not block.startswith("Package: "):
            block = block.lstrip("\n")
            if not block.startswith("Package: "):
                continue
        if wanted is not None and block[9:block.find("\n") if "\n" in block else None].strip() not in wanted:
            continue
        fields = {}
        for line in block.splitlines():
            if line and line[0] not in " \t":
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        yield fields


def read_list(path):
    if path.endswith((".lz4", ".zst", ".xz", ".gz", ".bz2")) and os.access(HELPER, os.X_OK):
        done = subprocess.run([HELPER, "cat-file", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if done.returncode == 0:
            return done.stdout.decode("utf-8", "replace")
        errors.append("%s: apt-helper cat-file exited %d" % (path, done.returncode))
    opener = gzip.open if path.endswith(".gz") else lzma.open if path.endswith(".xz") else open
    if opener is open and path.endswith((".lz4", ".zst", ".bz2")):
        errors.append("%s: no apt-helper to decompress it" % path)
        return ""
    with opener(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


installed = {}
try:
    with open(STATUS, "rb") as handle:
        for entry in stanzas(handle.read().decode("utf-8", "replace")):
            if entry.get("Status", "").endswith(" installed"):
                installed.setdefault(entry.get("Package", ""), {})[entry.get("Architecture", "")] = \
                    entry.get("Version", "")
except OSError as exc:
    print(json.dumps({"error": "%s: %s" % (STATUS, exc.strerror)}))
    sys.exit(2)

lists, offered = [], {}
for path in sorted(glob.glob(os.path.join(LISTS, "*-security_*_Packages*"))):
    name = os.path.basename(path)
    suite = name.split("_dists_", 1)[-1].split("_", 1)[0]
    lists.append(name)
    try:
        text = read_list(path)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        errors.append("%s: %s" % (name, exc))
        continue
    for entry in stanzas(text, installed):
        package, arch = entry.get("Package", ""), entry.get("Architecture", "")
        if package in installed and (arch in installed[package] or arch == "all"):
            offered.setdefault(package, []).append([arch, entry.get("Version", ""), suite])

print(json.dumps({"lists": lists, "errors": errors,
                  "installed": {p: installed[p] for p in sorted(offered)}, "offered": offered}, sort_keys=True))
'''
