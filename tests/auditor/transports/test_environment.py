"""What a child process of the scanner inherits: an allow-list, so no secret of the scanner's reaches it."""

from __future__ import annotations

from auditor.transports.environment import command_environment, helper_environment

SCANNER = {"PATH": "/usr/bin", "HOME": "/home/a", "LANG": "da_DK.UTF-8", "LC_TIME": "da_DK.UTF-8", "TZ": "UTC",
           "AUDITOR_KEY_PASSPHRASE": "secret-1", "DB1": "secret-2", "GITHUB_TOKEN": "secret-3",
           "Path": "C:\\Windows", "SystemRoot": "C:\\Windows", "PYTHONPATH": "/opt/later",
           "AUDITOR_TEST_DAYS_AHEAD": "400", "SSL_CERT_FILE": "/etc/ca.pem"}


def test_a_command_gets_what_it_needs_and_no_other_variable():
    # Given the scanner's environment with secrets under any name, When a command's environment is made
    env = command_environment(SCANNER)
    # Then only the allow-listed names are kept (Windows spellings too), and no secret
    assert env == {"PATH": "/usr/bin", "HOME": "/home/a", "LANG": "da_DK.UTF-8", "LC_TIME": "da_DK.UTF-8",
                   "TZ": "UTC", "Path": "C:\\Windows", "SystemRoot": "C:\\Windows"}


def test_the_scanners_own_python_helper_also_gets_the_interpreters_settings_but_no_secret():
    # Given the same environment, When the TLS scan server's environment is made
    env = helper_environment(SCANNER)
    # Then it also keeps Python's settings, the trust store and the test clock shift, and still no secret
    assert {"PYTHONPATH", "AUDITOR_TEST_DAYS_AHEAD", "SSL_CERT_FILE"} <= env.keys()
    assert not {"AUDITOR_KEY_PASSPHRASE", "DB1", "GITHUB_TOKEN"} & env.keys()
