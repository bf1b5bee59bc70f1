"""Redaction at the source: every kind of secret in recorded outputs is cut and counted, nothing else is touched,
and the parsers that read those outputs still find what the checks need."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from auditor.collectors import backup, disk
from auditor.transports.base import CommandResult, FileContent
from auditor.transports.redaction import PATTERNS, redact_bytes, redact_content, redact_result, redact_text
from tests.conftest import FIXTURES

SECRETS = FIXTURES / "outputs" / "secrets"
EXPECTED = json.loads((SECRETS / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_kind_of_secret_is_cut_and_counted_by_name(name):
    # Given a recorded output holding throw-away secrets of one kind
    data = (SECRETS / name).read_bytes()
    # When it is redacted
    clean, found = redact_bytes(data)
    # Then each secret is gone, the count per pattern is what the fixture holds, and a marker names the pattern
    assert dict(found) == EXPECTED[name]["patterns"]
    assert [s for s in EXPECTED[name]["secrets"] if s.encode() in clean] == []
    assert all(f"[REDACTED:{p}]".encode() in clean or p == "dm-crypt-volume-key" for p in found)
    # And a second pass finds nothing more (a replay keeps the record, and its hash, unchanged)
    assert redact_bytes(clean) == (clean, {})


def test_every_pattern_is_exercised_by_a_fixture():
    # The fixtures must cover the registry: a pattern nobody tests could be broken unnoticed.
    covered = {name for entry in EXPECTED.values() for name in entry["patterns"]}
    assert covered == {p.name for p in PATTERNS}


def test_a_pattern_is_compiled_only_when_a_text_holds_one_of_its_hints():
    # Compiling every pattern cost each start about 2 ms, though most texts (a command line) hold no hint at all.
    probe = ("import json; from auditor.transports.redaction import PATTERNS, redact_text; "
             "redact_text('scan --inventory fleet.yaml --check SSH-0100'); first = [p.name for p in PATTERNS "
             "if '_compiled' in vars(p)]; redact_text('password = hunter2'); "
             "print(json.dumps([first, [p.name for p in PATTERNS if '_compiled' in vars(p)]]))")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(found.stdout) == [[], ["password-assignment", "netrc-password"]]


def test_recorded_outputs_without_secrets_are_left_byte_for_byte():
    # Given every recorded output and every recorded host's evidence (real tools' outputs: sshd -T, luksDump,
    # sslyze JSON, property lists, PowerShell JSON, --help texts...)
    texts = [p for p in FIXTURES.rglob("*") if p.is_file() and SECRETS not in p.parents]
    # When each is redacted
    touched = {str(p.relative_to(FIXTURES)): dict(redact_bytes(p.read_bytes())[1]) for p in texts}
    # Then none loses a byte: no false positive changes what a check reads, or a golden result
    assert {k: v for k, v in touched.items() if v} == {}


def test_structure_around_a_secret_stays_so_parsers_still_read_it():
    # Given JSON with a recovery password and a null password, a quoted dconf value, an .env export
    document = (SECRETS / "get-bitlockervolume-keyprotector.json").read_text()
    clean, _ = redact_text(document)
    # Then the JSON still parses, with only the secret replaced
    protectors = json.loads(clean)
    assert [p["KeyProtectorType"] for p in protectors] == [1, 3]
    assert protectors[1]["RecoveryPassword"] == "[REDACTED:bitlocker-recovery-password]"
    assert redact_text("'x': {\n  \"Password\": null,\n  \"token\": \"\"\n}")[1] == {}
    marker = "[REDACTED:password-assignment]"
    assert redact_text("authentication-password='a b'\n")[0] == f"authentication-password='{marker}'\n"
    assert redact_text('export DB_PASSWORD="x y" # db\n')[0] == f'export DB_PASSWORD="{marker}" # db\n'
    compact = '{"a":1,"DbPassword":"s3\\"cr","token":null}'
    assert json.loads(redact_text(compact)[0]) == {"a": 1, "DbPassword": marker, "token": None}


@pytest.mark.parametrize("text", [
    "passwordauthentication yes\npermitemptypasswords no\nkbdinteractiveauthentication no\n",  # sshd -T
    "sudo: a password is required\n",  # what the failure wording looks for
    "PasswordAuthentication=no\nRESTIC_PASSWORD_FILE=/etc/restic/pw\nmpsk=1 bypass=2\n",
    "  --report-password=name\n  --password=# \n  --db-password=<secret>\n  password=${DB_PASSWORD}\n",  # --help
    "<key>AutoBackup</key>\n<true/>\n",  # a property list key, not an OpenVPN block
    "nvme0n1p3_crypt: 0 998129920 crypt aes-xts-plain64 :64:logon:cryptsetup:0bac9939-d0 0 259:3 32768\n",
    "sda3_crypt: 0 497545216 crypt aes-xts-plain64 " + "0" * 64 + " 0 8:3 4096\n",  # masked already
    "Tokens:\n  0: systemd-tpm2\nKeyslots:\n  0: luks2\n",  # cryptsetup luksDump
])
def test_lookalikes_are_not_secrets(text):
    assert redact_text(text) == (text, {})


def test_a_key_inside_a_binary_file_is_cut_and_every_other_byte_kept():
    # Given bytes that are not UTF-8, with a PEM private key inside
    pem = (SECRETS / "openssl-ec-p256-sec1.pem").read_bytes()
    data = b"\xff\xfe\x00binary" + pem + b"\x80\x81tail"
    # When it is redacted
    clean, found = redact_bytes(data)
    # Then the key is replaced and the bytes around it are unchanged
    assert dict(found) == {"pem-private-key": 1}
    assert clean == b"\xff\xfe\x00binary[REDACTED:pem-private-key]\n\x80\x81tail"


def test_results_and_contents_carry_what_was_cut():
    # Given a command whose stdout and stderr hold secrets, and a file that holds none
    result = CommandResult("grep ...", 0, (SECRETS / "cron-grep-restic-borg.txt").read_text(), "token=abc\n")
    clean, cut = redact_result(result)
    # Then both streams are redacted and the counts add up; a clean file comes back as the same object
    assert dict(cut) == {"password-assignment": 3, "url-password": 1} and "abc" not in clean.stderr
    plain = FileContent("/etc/hostname", True, b"web-01\n")
    assert redact_content(plain) == (plain, {})


def test_what_the_backup_and_disk_checks_read_survives_redaction():
    # Given the backup collector's cron and systemctl outputs with passwords, and dmsetup --showkeys
    cron = redact_text((SECRETS / "cron-grep-restic-borg.txt").read_text())[0]
    show = redact_text((SECRETS / "systemctl-show-restic-url-password.txt").read_text())[0]
    table = (SECRETS / "dmsetup-table-showkeys.txt").read_text()
    # Then the jobs and their tools are still found, and each volume key still tells its size
    assert [(j.tool, j.source) for j in backup.parse_cron(cron)] == [("restic", "cron"), ("borg", "cron")]
    jobs = backup.parse_systemctl_show(show, {}, ["restic-backup.service"])
    assert [(j.name, j.tool, j.result, j.exit_status) for j in jobs] == [
        ("restic-backup.service", "restic", "success", 0)]
    assert disk.parse_dmsetup_table(redact_text(table)[0]) == disk.parse_dmsetup_table(table) == {
        "nvme0n1p3_crypt": ("aes-xts-plain64", 512), "data": ("aes-xts-plain64", 256)}


@pytest.mark.parametrize("hostile", [
    "password=abc\n" * 100_000,  # a secret on every line
    "password=" * 100_000,  # one line of candidates
    "xpwd=" * 200_000,  # candidates that are all refused
    "<key>\n" * 150_000,  # blocks never closed
    "-----BEGIN PRIVATE KEY-----\n" * 40_000,
    " " * 1_000_000 + "password",
])
def test_a_hostile_output_is_redacted_in_linear_time(hostile):
    # Given about 1 MB of output built to make a regex backtrack or rescan
    started = time.perf_counter()
    redact_text(hostile)
    # Then it takes well under the budget a fact's 8 MiB cap allows (quadratic work would take minutes)
    assert time.perf_counter() - started < 3.0


def test_fixture_folder_documents_every_file():
    readme = (SECRETS / "README.md").read_text()
    assert sorted(p.name for p in SECRETS.iterdir() if p.suffix != ".md" and p.name != "expected.json") == \
        sorted(EXPECTED) and all(f"`{name}`" in readme for name in EXPECTED)

