"""The inventory keys of a database endpoint (`kind: tls` with starttls postgres or mysql): user, database and
password_env; each misuse is one line naming file:line, the target and the fix."""

from __future__ import annotations

import pytest

from auditor.errors import InputError
from auditor.inventory import load_inventory


def test_a_mysql_endpoint_names_its_account_and_the_variable_holding_its_password(write):
    targets = load_inventory(write("inv.yaml", """\
targets:
  - {name: crm-db, kind: tls, host: db.example.dk, port: 3306, starttls: mysql, user: audit,
     password_env: AUDIT_MYSQL_PASSWORD}
  - {name: pg, kind: tls, host: pg.example.dk, port: 5432, starttls: postgres, user: app, database: crm}
"""))
    mysql, pg = targets
    assert mysql.options["starttls"] == "mysql" and mysql.options["password_env"] == "AUDIT_MYSQL_PASSWORD"
    assert pg.options["user"] == "app" and pg.options["database"] == "crm"


def test_an_ssh_login_in_defaults_never_becomes_a_database_account(write):
    # Given defaults meant for SSH hosts (a user, and a password variable for password logins)
    targets = load_inventory(write("inv.yaml", """\
defaults: {user: audit, password_env: SSH_PASSWORD}
targets:
  - {name: db-1, kind: ssh, host: 10.0.0.5}
  - {name: crm-db, kind: tls, host: db.example.dk, port: 3306, starttls: mysql}
"""))
    ssh, mysql = targets
    # Then the SSH target has them and the database endpoint does not
    assert ssh.options["user"] == "audit" and ssh.options["password_env"] == "SSH_PASSWORD"
    assert "user" not in mysql.options and "password_env" not in mysql.options


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("{name: w, kind: tls, host: h, port: 443, user: app}", "'user': user names a database account, so it "
         "needs starttls: postgres or starttls: mysql"),
        ("{name: w, kind: tls, host: h, port: 25, starttls: smtp, database: x}", "database names a database"),
        ("{name: p, kind: tls, host: h, port: 5432, starttls: postgres, user: a, password_env: PW}",
         "password_env is used by MySQL/MariaDB targets only"),
        ("{name: m, kind: tls, host: h, port: 3306, starttls: mysql, password_env: PW}",
         "password_env needs the account it is the password of"),
        ("{name: m, kind: tls, host: h, port: 3306, starttls: mysql, user: a, password_env: 'secret pw!'}",
         "password_env must name an environment variable"),
        ("{name: m, kind: tls, host: h, port: 3306, starttls: mysqlx}", "unknown STARTTLS protocol"),
    ],
)
def test_a_misused_database_key_is_one_line_with_where_and_the_fix(write, entry, words):
    path = write("inv.yaml", f"targets:\n  - {entry}\n")
    with pytest.raises(InputError) as error:
        load_inventory(path)
    message = str(error.value)
    assert "\n" not in message and f"{path}:2" in message and words.split(": ", 1)[-1] in message
    assert "secret pw!" not in message  # a value that is no variable name may be the password itself
