"""`plain_port:` of a TLS target: the port of its plaintext counterpart, validated where the inventory is read."""

from __future__ import annotations

import pytest

from auditor.errors import InputError
from auditor.inventory import load_inventory


def test_plain_port_is_kept_for_a_tls_target(write):
    # Given an HTTPS target whose plain HTTP listens on 8080
    (target,) = load_inventory(write("inv.yaml", "targets:\n  - {name: portal, kind: tls, host: portal.example, "
                                                 "port: 8443, plain_port: 8080}\n"))
    # Then the option is there for the plaintext probe
    assert target.options["plain_port"] == 8080


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("{name: portal, kind: tls, host: h, plain_port: 0}",
         "inv.yaml:2:52: target 'portal': field 'plain_port' must be an integer from 1 to 65535, got 0; "
         "write e.g. plain_port: 80"),
        ("{name: portal, kind: tls, host: h, plain_port: http}", "field 'plain_port' must be an integer"),
        ("{name: web, kind: ssh, host: h, plain_port: 80}", "plain_port"),
    ],
)
def test_a_bad_plain_port_is_one_line_naming_where_and_the_fix(write, entry, words):
    with pytest.raises(InputError) as caught:
        load_inventory(write("inv.yaml", f"targets:\n  - {entry}\n"))
    assert words in str(caught.value)
