#!/bin/sh
# The home kit's launcher for macOS (double-click: Terminal runs it): find Python 3.11 or newer from python.org,
# Homebrew or the system, then let kit/launch.py do the rest. Apple's own /usr/bin/python3 is too old (3.9) and
# asks to install developer tools, so it is tried last and only when those tools are already there.
here=$(cd "$(dirname "$0")" && pwd)
for candidate in \
    /Library/Frameworks/Python.framework/Versions/3.13/bin/python3 \
    /Library/Frameworks/Python.framework/Versions/3.12/bin/python3 \
    /Library/Frameworks/Python.framework/Versions/3.11/bin/python3 \
    /opt/homebrew/bin/python3 /usr/local/bin/python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        exec "$candidate" "$here/kit/launch.py" "$@"
    fi
done
if xcode-select -p >/dev/null 2>&1 &&
    /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    exec /usr/bin/python3 "$here/kit/launch.py" "$@"
fi
# No Python to read kit.json with: its language is found by grep (kit build writes it as '"lang": "da"').
if grep -q '"lang": "da"' "$here/kit/kit.json" 2>/dev/null; then
    echo "Denne kontrol kræver Python 3.11 eller nyere, og det har denne Mac ikke."
    echo "Hent det fra https://www.python.org/downloads/macos/ , installér det, og dobbeltklik så på denne fil igen."
else
    echo "This check needs Python 3.11 or newer, which this Mac does not have."
    echo "Download it from https://www.python.org/downloads/macos/ , install it, and double-click this file again."
fi
exit 3
