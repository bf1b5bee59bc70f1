"""The home kit: one folder per operating system that scans an employee's computer offline with one double-click.

build.py makes it (the processor's security lead runs `auditor kit build`); templates/ holds the launchers and
launch.py, the stdlib-only script they hand over to; home_run.py is what the kit's private venv runs.
"""

# The systems a kit is built for (build.PLATFORMS has one entry for each). Here, so that the `kit build` parser
# does not import the builder: every `auditor` command builds that parser.
OPERATING_SYSTEMS = ("linux", "windows", "macos")
