#!/bin/sh
# The home kit's launcher for Linux: find Python 3.11 or newer, then let kit/launch.py do the rest.
here=$(cd "$(dirname "$0")" && pwd)
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        exec "$candidate" "$here/kit/launch.py" "$@"
    fi
done
# No Python to read kit.json with: its language is found by grep (kit build writes it as '"lang": "da"').
if grep -q '"lang": "da"' "$here/kit/kit.json" 2>/dev/null; then
    echo "Denne kontrol kræver Python 3.11 eller nyere, og det har denne computer ikke."
    echo "Installér python3 med systemets softwarecenter, eller i en terminal:"
    echo "  Debian, Ubuntu:  sudo apt install python3 python3-venv"
    echo "  Fedora:          sudo dnf install python3"
    echo "Start så denne fil igen."
else
    echo "This check needs Python 3.11 or newer, which this computer does not have."
    echo "Install python3 with your system's software centre, or in a terminal:"
    echo "  Debian, Ubuntu:  sudo apt install python3 python3-venv"
    echo "  Fedora:          sudo dnf install python3"
    echo "Then start this file again."
fi
exit 3
