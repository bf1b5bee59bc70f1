"""A port that is not SSH is named for what it sent, its bytes quoted with control characters escaped."""

from __future__ import annotations

import pytest

from auditor.transports._ssh_wire import what_came


@pytest.mark.parametrize(("sent", "said"), [
    (b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n", "answered HTTP, not SSH: 'HTTP/1.1 400 Bad Request'"),
    (b"\x15\x03\x03\x00\x02\x02\x32", "answered TLS, not SSH"),
    (b"<!DOCTYPE HTML>\n<html>", "answered with a web page, not SSH: '<!DOCTYPE HTML>\\n<html>'"),
    (b"\x1b]0;owned\x07hello\r\n", "answered 17 bytes that are not an SSH banner: '\\x1b]0;owned\\x07hello\\r\\n'"),
    (b"", ""),
])
def test_what_a_port_sent_instead_of_an_ssh_banner_is_named(sent, said):
    # Given the first bytes a port sent to an SSH client, When they are described
    # Then the description says what protocol it was, or how many bytes came, quoted and escaped
    assert what_came(sent) == said


def test_a_long_answer_is_cut_and_counted_as_at_least_what_was_kept():
    # Given a port that floods, When its first 512 bytes are described
    said = what_came(b"A" * 512)
    # Then the count says "at least", and the quote is cut
    assert said.startswith("answered 512+ bytes that are not an SSH banner: 'AAAA") and said.endswith("…'")


def test_the_key_exchange_s_random_values_come_from_the_system_without_the_random_module():
    import subprocess
    import sys

    from auditor.transports._ssh_wire import _random_bits

    # A value of n random bits: below 2**n, and all n bits in use (the chance of 64 draws missing the top: 2**-64)
    drawn = [_random_bits(1000) for _ in range(64)]
    assert all(0 <= value < 1 << 1000 for value in drawn) and max(v.bit_length() for v in drawn) == 1000
    assert len(set(drawn)) == 64
    # The random module (imported by secrets) is not loaded for them: 1 ms of every start (what the interpreter
    # had loaded before, a sitecustomize's imports among them, is not the module's)
    probe = ("import sys; before = set(sys.modules); import auditor.transports._ssh_wire; "
             "print('random' in set(sys.modules) - before)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "False\n"
