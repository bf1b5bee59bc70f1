# Two commands set everything up on a fresh Debian 12 / Ubuntu 22.04+ machine with Python 3.11+:
#   make scan   scan this machine, write reports/<run-id>/
#   make test   run the whole test suite
# Everything is installed from requirements.lock (hash-pinned) into .venv; Debian packages that
# WeasyPrint and the tests need are installed with apt when missing (as root), or the exact command
# to run is printed.

SHELL := /bin/bash
# The distribution's own interpreter first: Debian's and Ubuntu's are built with PGO and LTO (pyenv's are not by
# default), and every auditor command starts 20-30% faster on it. `make PYTHON=...` chooses another.
PYTHON ?= $(shell for p in /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 /usr/bin/python3 \
	python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# WeasyPrint renders the PDF report with Pango; the tests start real sshd and TLS servers, read PDFs back and
# run commands through a real sudo.
SCAN_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
# chromium and chromium-driver: the HTML report's filters are tested in a real headless browser.
# postgresql and mariadb-server: the database tests start their own servers (tests/db_servers.py).
# redis-server (and iproute2): the zone tests start their own broker and network namespaces (tests/zones/).
# nginx, dovecot-imapd and dovecot-pop3d: the TLS tests' HTTPS, plain HTTP and mail servers (tests/tls_servers.py).
# shellcheck: the home kit's .sh and .command launchers are checked with it (tests/test_kit.py).
# libxml2-utils: xmllint, a second real XML parser for the JUnit report (tests/adversarial/test_hostile_output.py).
# python3: the batch runner runs as the target's /usr/bin/python3 (tests/auditor/transports/test_ssh_runner.py);
# systemd: `systemd-analyze verify` checks the units `auditor schedule` writes (tests/test_evidence_cli.py).
TEST_DEBS := $(SCAN_DEBS) openssh-server procps openssl poppler-utils sudo chromium chromium-driver postgresql \
	mariadb-server nginx dovecot-imapd dovecot-pop3d redis-server iproute2 shellcheck libxml2-utils python3 systemd

.PHONY: scan test test-later lint setup test-setup bench sample-report fixtures lock clean catalogue wheelhouse FORCE

scan: setup
	@$(BIN)/auditor scan $(ARGS); rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "make scan: the scan finished; some checks failed (see above)."; fi; \
	[ $$rc -le 1 ] || exit $$rc

# The suite runs in worker processes, one per core up to four (`make test PARALLEL=` runs it in one): most tests
# wait on a server or a subprocess. A test file stays in one worker, so its servers start once. Tests marked
# `alone` compare two scans of this whole machine, which the servers other workers start and stop would tell
# apart: they run afterwards, in one process (pytest's exit status 5 is "no test selected", e.g. by a -k).
PARALLEL ?= --numprocesses auto --maxprocesses 4 --dist loadfile
SUITE = { $(BIN)/python -m pytest -q $(PARALLEL) -m "not alone" $(PYTEST_ARGS) || [ $$? -eq 5 ]; } && \
	{ $(BIN)/python -m pytest -q -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ]; }

test: test-setup lint
	$(SUITE)

# The whole suite with the wall clock 400 days ahead, in the test process and in every Python process it
# starts (tests/later/sitecustomize.py moves each with time-machine; monotonic clocks stay real). Plugin
# autoload is off because time-machine's own pytest plugin would be imported a second time.
test-later: test-setup
	export PYTHONPATH=$(CURDIR)/tests/later AUDITOR_TEST_DAYS_AHEAD=400 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 \
		PYTEST_ADDOPTS="-p xdist.plugin"; $(SUITE)

lint: $(STAMP)
	$(BIN)/ruff check auditor checks tests bench
	$(BIN)/mypy auditor checks

# Byte-compile the sources as pip does for an installed package: an editable install is compiled on first
# import, never when PYTHONDONTWRITEBYTECODE is set, and then every run compiles ~80 modules again (0.1 s).
# The report's templates likewise (templates/__pycache__): compiling them is 0.2 s of every report; and the
# shipped YAML files' data as JSON (auditor/profiles/__pycache__, auditor/catalogues/__pycache__): 6 ms a command.
setup: $(STAMP)
	@./.ci/ensure-debs $(SCAN_DEBS)
	@$(BIN)/python -m compileall -q auditor checks >/dev/null
	@$(BIN)/python -c 'from auditor.report.to_html import compile_templates; compile_templates()'
	@$(BIN)/python -c 'from auditor.yamlfile import compile_package_yaml; compile_package_yaml()'

test-setup: $(STAMP) wheelhouse
	@./.ci/ensure-debs $(TEST_DEBS)

# The core's dependency wheels for every home-kit platform and Python version (tests/test_kit.py builds kits
# from it offline): downloaded once, like a Debian package; nothing is done when it already holds this set.
WHEELHOUSE := .cache/wheelhouse
wheelhouse: $(STAMP)
	@$(BIN)/python -m auditor.kit.wheelhouse $(WHEELHOUSE)

# The stamp holds the interpreter the venv was made with. When PYTHON is another one (`make PYTHON=...`, a
# distribution upgrade from 3.11 to 3.12, a removed pyenv version) or the venv's own no longer starts, the venv
# is made again: kept, it would run another Python's packages, or nothing.
PYTHON_REAL := $(shell $(PYTHON) -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
ifneq ($(shell $(BIN)/python -c '' 2>/dev/null && cat $(STAMP)),$(PYTHON_REAL))
$(STAMP): FORCE
endif

# editable_mode=compat: the project folder on sys.path through a plain .pth line, instead of setuptools' import
# finder, whose start-up (importlib.util, pathlib, fnmatch before anything else) cost every command about 9 ms.
$(STAMP): requirements.lock pyproject.toml Makefile
	@test -n "$(PYTHON)" || { echo "make: Python 3.11 or newer is needed (apt-get install python3)"; exit 1; }
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || ./.ci/ensure-debs $$($(PYTHON) -c \
		'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}-venv")')
	@if [ -e $(VENV) ] && { ! $(BIN)/python -c '' 2>/dev/null || \
		[ "$$(sed -n 's/^executable = //p' $(VENV)/pyvenv.cfg)" != "$(PYTHON_REAL)" ]; }; then \
		echo "make: $(VENV) is of another Python, or its Python no longer starts: making it again with $(PYTHON_REAL)"; rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		--config-settings editable_mode=compat -e .
	@echo "$(PYTHON_REAL)" > $(STAMP)

FORCE:

bench: test-setup setup
	$(BIN)/python bench/local_scan.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/seal.py
	$(BIN)/python bench/tls_scan.py
	$(BIN)/python bench/ssh_fleet.py

# Regenerate every recorded host (tests/fixtures/hosts/) with today's collectors and checks: after adding a
# check, this and the check's own test are all it takes.
fixtures: setup
	$(BIN)/python -m tests.fixtures.make_hosts
	$(BIN)/python -m tests.fixtures.make_platform_hosts

# The report of a recorded fleet, so anyone can see it without scanning: reports/sample/
sample-report: setup
	rm -rf reports/sample
	$(BIN)/python -m tests.fixtures.sample_fleet reports/sample

# The message catalogue (docs/report.md): extract every English text (report labels, check titles, remediation,
# finding-message templates, requirement texts) into auditor/locale/auditor.pot, then merge it into each
# language's .po file, where a translator fills in what is new (empty) or changed (fuzzy). The .po is read as
# it is: nothing to compile.
catalogue: setup
	$(BIN)/pybabel -q extract -F auditor/locale/babel.cfg -k N_ --no-wrap --sort-by-file --project auditor \
		-o auditor/locale/auditor.pot .
	$(BIN)/pybabel -q update --previous -i auditor/locale/auditor.pot -d auditor/locale -D auditor -l da --no-wrap \
		--ignore-obsolete
	@$(BIN)/python -m auditor.report.catalogue

# Re-pin every dependency (with hashes) after editing requirements.in.
lock:
	$(PYTHON) -m venv /tmp/auditor-lock && /tmp/auditor-lock/bin/pip install --quiet pip-tools
	/tmp/auditor-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		-o requirements.lock requirements.in

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
