"""Database servers (DB-xxxx): personal data reaches PostgreSQL and MySQL/MariaDB only over TLS, and what is done
with it is logged.

From the network (a `kind: tls` target with `starttls: postgres` or `starttls: mysql`; auditor/collectors/databases/
wire.py): DB-0010 PostgreSQL refuses a client without TLS; DB-0020 MySQL offers TLS; DB-0021 MySQL refuses a login
without TLS. From the host that runs the server (its configuration files; databases/postgres.py and mysql.py):
DB-0110..0114 PostgreSQL, DB-0210..0213 MySQL and MariaDB. A host check gives one verdict per server instance,
named by its data directory, and says whether the server was running or only its files were judged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Platform, Severity, TargetKind, Verdict, check

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.databases._host import Suite
    from auditor.collectors.databases.mysql import MysqlFacts, MysqlInstance
    from auditor.collectors.databases.postgres import PostgresFacts, PostgresInstance
    from auditor.collectors.databases.wire import DbWireFacts

_TRANSIT = (ControlRef("iso27001-2022", "8.24"), ControlRef("iso27001-2022", "8.20"),
            ControlRef("iso27001-2022", "5.14"), ControlRef("cis-v8", "3.10"), ControlRef("d-maerket", "3.1.2"))
_LOGGING = (ControlRef("iso27001-2022", "8.15"), ControlRef("cis-v8", "8.2"), ControlRef("cis-v8", "8.5"),
            ControlRef("cis-v8", "3.14"))
_TLS_VERSIONS = {"TLSv1": "1.0", "TLSv1.0": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}
_TRUE = {"on", "true", "yes", "1"}
_STATEMENT_LEVELS = ("none", "ddl", "mod", "all")
_PGAUDIT_NEEDS = {"none": set(), "ddl": {"ddl"}, "mod": {"ddl", "write"}, "all": {"ddl", "write", "read"}}


def _version(name: str) -> str:
    """TLSv1.2 -> "1.2" ("" for anything else)."""
    return _TLS_VERSIONS.get(name.strip(), "")


def _weak_suites(suites: Iterable[Suite], min_aes_bits: int, chacha20_counts_as_aes256: bool) -> list[str]:
    weak = []
    for suite in suites:
        if suite.bulk == "CHACHA20" and chacha20_counts_as_aes256 and min_aes_bits <= 256:
            continue
        if suite.bulk != "AES" or suite.bits < min_aes_bits:
            weak.append(f"{suite.name} ({suite.encryption})")
    return weak


def _weak_tls13(names: Iterable[str], min_aes_bits: int, chacha20_counts_as_aes256: bool) -> list[str]:
    strong = {"TLS_AES_256_GCM_SHA384"} if min_aes_bits <= 256 else set()
    if chacha20_counts_as_aes256 and min_aes_bits <= 256:
        strong.add("TLS_CHACHA20_POLY1305_SHA256")
    return [name for name in names if name not in strong]


# ---- from the network ---------------------------------------------------------------------------------------

@check(
    id="DB-0010", title="A PostgreSQL server refuses clients that do not use TLS", severity=Severity.HIGH,
    requirements=("R2", "R8"), controls=_TRANSIT, target_kinds=(TargetKind.TLS,),
    remediation="In pg_hba.conf, turn every `host` line for network clients into `hostssl` (keep `local` lines for "
    "the Unix socket), set `ssl = on` with a certificate in postgresql.conf, and reload PostgreSQL.",
)
def postgres_refuses_plaintext(db_wire: DbWireFacts) -> Verdict:
    if db_wire.engine != "postgres":
        return Verdict.not_applicable("Not a PostgreSQL endpoint (starttls: postgres).")
    at, user = db_wire.endpoint, db_wire.user
    observed = {"tls_offered": db_wire.tls_offered, "tls_version": db_wire.tls_version, "user": user,
                "without_tls": db_wire.plaintext.said if db_wire.plaintext else "",
                "with_tls": db_wire.over_tls.said if db_wire.over_tls else ""}
    expected = {"without_tls": "refused (no pg_hba.conf entry ... no encryption)", "with_tls": "offered"}
    if not db_wire.tls_offered:
        return Verdict.failed(f"{at} answers PostgreSQL's SSLRequest with 'N': it does not offer TLS at all, so "
                              "every client talks to it in clear.", observed=observed, expected=expected)
    plain, tls = db_wire.plaintext, db_wire.over_tls
    if plain is None:
        return Verdict.warning(f"{at} offers TLS, but its answer to a client without TLS was not recorded.",
                               observed=observed, expected=expected)
    if plain.accepted:
        return Verdict.failed(f"{at} accepts a client without TLS: a startup in clear for user {user!r} "
                              f"{plain.said} instead of being refused (a `host` or `hostnossl` line in pg_hba.conf "
                              "matches it).", observed=observed, expected=expected)
    if plain.code != "28000":
        return Verdict.warning(f"{at} answered a startup without TLS with {plain.said!r}, neither a refusal by "
                               "pg_hba.conf nor a password request, so it is not known whether clear text is "
                               "refused.", observed=observed, expected=expected)
    if tls is None or not tls.accepted:
        told = f" (over TLS: {tls.said})" if tls else ""
        return Verdict.warning(f"{at} refused user {user!r} without TLS ({plain.said}), but also with TLS{told}, so "
                               "the refusal may be about the account rather than encryption; set `user:` for this "
                               "target to an account the server knows.", observed=observed, expected=expected)
    return Verdict.passed(f"{at} refuses a client without TLS ({plain.said}); over TLS ({db_wire.tls_version}, "
                          f"{db_wire.tls_cipher}) the same startup {tls.said}.", observed=observed, expected=expected)


@check(
    id="DB-0020", title="A MySQL or MariaDB server offers TLS of the minimum version", severity=Severity.HIGH,
    requirements=("R2", "R8"), controls=_TRANSIT, target_kinds=(TargetKind.TLS,),
    remediation="Give the server a certificate and key (`ssl_cert`, `ssl_key` in the [mysqld] or [mariadbd] "
    "group; MySQL 8 makes its own), set `tls_version = TLSv1.2,TLSv1.3` and restart it.",
)
def mysql_offers_tls(db_wire: DbWireFacts, min_tls_version: str) -> Verdict:
    if db_wire.engine != "mysql":
        return Verdict.not_applicable("Not a MySQL or MariaDB endpoint (starttls: mysql).")
    at = db_wire.endpoint
    observed = {"server_version": db_wire.server_version, "tls_offered": db_wire.tls_offered,
                "tls_version": db_wire.tls_version, "tls_cipher": db_wire.tls_cipher, "tls_error": db_wire.tls_error}
    expected = {"tls_offered": True, "oldest_version": f"TLS {min_tls_version}"}
    if db_wire.greeting_error:
        return Verdict.warning(f"{at} greeted with an error instead of its handshake ({db_wire.greeting_error}), so "
                               "whether it offers TLS is not known.", observed=observed, expected=expected)
    if not db_wire.tls_offered:
        return Verdict.failed(f"{at} ({db_wire.server_version}) does not offer TLS: its handshake lacks the "
                              "CLIENT_SSL capability, so every client talks to it in clear.", observed=observed,
                              expected=expected)
    if not db_wire.tls_version:
        return Verdict.failed(f"{at} offers TLS, but a TLS handshake with it failed ({db_wire.tls_error}).",
                              observed=observed, expected=expected)
    negotiated = _version(db_wire.tls_version)
    if negotiated and negotiated < min_tls_version:
        return Verdict.failed(f"{at} negotiates at best {db_wire.tls_version}, older than the minimum TLS "
                              f"{min_tls_version}.", observed=observed, expected=expected)
    return Verdict.passed(f"{at} ({db_wire.server_version}) offers TLS and negotiated {db_wire.tls_version} with "
                          f"{db_wire.tls_cipher}.", observed=observed, expected=expected)


@check(
    id="DB-0021", title="A MySQL or MariaDB server refuses a login without TLS", severity=Severity.HIGH,
    requirements=("R2", "R8"), controls=_TRANSIT, target_kinds=(TargetKind.TLS,),
    remediation="Set `require_secure_transport = ON` in the [mysqld] or [mariadbd] group and restart (or `SET "
    "PERSIST require_secure_transport = ON` on MySQL 8), or `ALTER USER ... REQUIRE SSL` for every account.",
)
def mysql_refuses_plaintext(db_wire: DbWireFacts) -> Verdict:
    if db_wire.engine != "mysql":
        return Verdict.not_applicable("Not a MySQL or MariaDB endpoint (starttls: mysql).")
    at, user, variable = db_wire.endpoint, db_wire.user, db_wire.password_env
    login = f"the login of {user!r} (password from ${variable})"
    observed = {"user": user, "password_env": variable, "with_tls": db_wire.over_tls.said if db_wire.over_tls else "",
                "without_tls": db_wire.plaintext.said if db_wire.plaintext else ""}
    expected = {"with_tls": "logged in", "without_tls": "refused"}
    if not variable:
        return Verdict.warning(f"{at}: MySQL and MariaDB refuse a client without TLS only after checking its "
                               "password, so proving it needs a login; set `user:` and `password_env:` for this "
                               "target (a least-privileged account).", observed=observed, expected=expected)
    if db_wire.login_problem or db_wire.over_tls is None or db_wire.plaintext is None:
        why = db_wire.login_problem or "the login attempts were not recorded"
        return Verdict.warning(f"{at}: no login was tried ({why}).", observed=observed, expected=expected)
    if not db_wire.over_tls.accepted:
        return Verdict.warning(f"{at} refused {login} even over TLS ({db_wire.over_tls.said}), so the attempt "
                               "without TLS proves nothing; check the account and its password.", observed=observed,
                               expected=expected)
    if db_wire.plaintext.accepted:
        return Verdict.failed(f"{at} accepted {login} without TLS: personal data can travel in clear.",
                              observed=observed, expected=expected)
    return Verdict.passed(f"{at} refused {login} without TLS ({db_wire.plaintext.said}); the same login over TLS was "
                          "accepted.", observed=observed, expected=expected)


# ---- PostgreSQL's configuration ----------------------------------------------------------------------------

def _pg(postgres: PostgresFacts) -> Sequence[PostgresInstance] | Verdict:
    return postgres.instances or Verdict.not_applicable(postgres.note or "No PostgreSQL server on this host.")


def _said(instance: PostgresInstance, name: str) -> str:
    setting = instance.settings.get(name)
    where = setting.where if setting else "default"
    return f"{name} = '{instance.value(name)}' ({where})"


@check(
    id="DB-0110", title="PostgreSQL has TLS switched on", severity=Severity.HIGH, requirements=("R1", "R2", "R8"),
    controls=_TRANSIT, platforms=(Platform.LINUX,), requires_root=True,
    remediation="Set `ssl = on` with `ssl_cert_file` and `ssl_key_file` in postgresql.conf (Debian: "
    "/etc/postgresql/VERSION/main/conf.d/) and reload PostgreSQL.",
)
def postgres_ssl_on(postgres: PostgresFacts) -> list[Verdict] | Verdict:
    found = _pg(postgres)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for pg in found:
        observed = {"ssl": pg.value("ssl"), "where": pg.settings["ssl"].where, "state": pg.state}
        if pg.value("ssl").lower() in _TRUE:
            verdicts.append(Verdict.passed(f"{_said(pg, 'ssl')}; {pg.state}.", resource=pg.resource,
                                           observed=observed, expected={"ssl": "on"}))
        else:
            verdicts.append(Verdict.failed(f"TLS is off: {_said(pg, 'ssl')}, so every client talks to this server "
                                           f"in clear; {pg.state}.", resource=pg.resource, observed=observed,
                                           expected={"ssl": "on"}))
    return verdicts


@check(
    id="DB-0111", title="PostgreSQL accepts no TLS version older than the minimum", severity=Severity.HIGH,
    requirements=("R2", "R8"), controls=_TRANSIT, platforms=(Platform.LINUX,), requires_root=True,
    remediation="Set `ssl_min_protocol_version = 'TLSv1.2'` (or the profile's minimum) in postgresql.conf and "
    "reload PostgreSQL.",
)
def postgres_min_tls(postgres: PostgresFacts, min_tls_version: str) -> list[Verdict] | Verdict:
    found = _pg(postgres)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for pg in found:
        if pg.value("ssl").lower() not in _TRUE:
            verdicts.append(Verdict.not_applicable("TLS is off (DB-0110).", resource=pg.resource))
            continue
        oldest = _version(pg.value("ssl_min_protocol_version"))
        observed = {"ssl_min_protocol_version": pg.value("ssl_min_protocol_version"), "state": pg.state}
        expected = {"oldest_version": f"TLS {min_tls_version}"}
        if not oldest or oldest < min_tls_version:
            verdicts.append(Verdict.failed(f"{_said(pg, 'ssl_min_protocol_version')} allows TLS older than the "
                                           f"minimum {min_tls_version}; {pg.state}.", resource=pg.resource,
                                           observed=observed, expected=expected))
        else:
            verdicts.append(Verdict.passed(f"{_said(pg, 'ssl_min_protocol_version')}; {pg.state}.",
                                           resource=pg.resource, observed=observed, expected=expected))
    return verdicts


def _tls13_note(enabled: bool, configured: Sequence[str], setting: str, min_aes_bits: int,
                chacha20_counts_as_aes256: bool) -> tuple[list[str], str]:
    """(weak TLS 1.3 suites configured, a warning when TLS 1.3 runs on OpenSSL's defaults)."""
    if not enabled:
        return [], ""
    if configured:
        return _weak_tls13(configured, min_aes_bits, chacha20_counts_as_aes256), ""
    return [], (f"TLS 1.3 is allowed and its suites are OpenSSL's defaults ({setting}), which include "
                "TLS_AES_128_GCM_SHA256 unless the system's OpenSSL configuration removes it; TLS-0020 judges what "
                "the server accepts from the network")


@check(
    id="DB-0112", title="PostgreSQL's TLS cipher suites use AES of the minimum key size", severity=Severity.HIGH,
    requirements=("R1", "R2"), controls=_TRANSIT, platforms=(Platform.LINUX,), requires_root=True,
    remediation="Set `ssl_ciphers = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384'` in "
    "postgresql.conf; before PostgreSQL 17 TLS 1.3 suites cannot be chosen, so also set "
    "`ssl_max_protocol_version = 'TLSv1.2'` or restrict Ciphersuites in the system's openssl.cnf.",
)
def postgres_ciphers(postgres: PostgresFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool,
                     ) -> list[Verdict] | Verdict:
    found = _pg(postgres)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for pg in found:
        if pg.value("ssl").lower() not in _TRUE:
            verdicts.append(Verdict.not_applicable("TLS is off (DB-0110).", resource=pg.resource))
            continue
        newest = _version(pg.value("ssl_max_protocol_version")) or "1.3"
        tls13 = [n for n in pg.value("ssl_tls13_ciphers").split(":") if n]
        weak13, note = _tls13_note(newest >= "1.3", tls13, "ssl_tls13_ciphers is not set", min_aes_bits,
                                   chacha20_counts_as_aes256)
        # ssl_ciphers governs TLS 1.2 and older only: with a minimum of TLS 1.3 none of its suites can be negotiated
        # (a TLS 1.2 client gets "alert protocol version"), so then only the TLS 1.3 suites are judged.
        only13 = _version(pg.value("ssl_min_protocol_version")) == "1.3"
        weak = _weak_suites(() if only13 else pg.tls12_suites, min_aes_bits, chacha20_counts_as_aes256) + weak13
        observed = {"ssl_ciphers": pg.value("ssl_ciphers"), "tls12_suites": [s.name for s in pg.tls12_suites],
                    "ssl_tls13_ciphers": tls13, "weak": weak, "state": pg.state}
        if only13:
            verdicts.append(_cipher_verdict(_said(pg, "ssl_tls13_ciphers"), "", weak, note, ", ".join(tls13),
                                            min_aes_bits, pg.state, pg.resource, observed,
                                            only13=_said(pg, "ssl_min_protocol_version")))
            continue
        allowed = ", ".join(s.name for s in pg.tls12_suites)
        verdicts.append(_cipher_verdict(_said(pg, "ssl_ciphers"), pg.cipher_problem, weak, note, allowed, min_aes_bits,
                                        pg.state, pg.resource, observed))
    return verdicts


def _cipher_verdict(shown: str, problem: str, weak: Sequence[str], note: str, allowed: str, min_aes_bits: int,
                    state: str, resource: str, observed: Mapping[str, object], only13: str = "") -> Verdict:
    """DB-0112 and DB-0212 alike: the server's cipher setting (`shown`) judged by the suites it allows. `only13`
    is the version setting that allows nothing but TLS 1.3, when it does: then `shown` is the TLS 1.3 setting."""
    expected = {"bulk_cipher": f"AES >= {min_aes_bits} bits"}
    # Warnings name the state too: every host finding says whether the server ran or only its files were judged.
    if only13 and note:
        return Verdict.warning(f"{only13} allows only TLS 1.3, so the TLS 1.2 cipher list does not apply, but "
                               f"{note}; {state}.", resource=resource, observed=observed, expected=expected)
    if problem:
        return Verdict.warning(f"{shown} could not be expanded: {problem}; {state}.", resource=resource,
                               observed=observed, expected=expected)
    if weak:
        return Verdict.failed(f"{shown} allows suites weaker than AES-{min_aes_bits}: {', '.join(weak[:8])}"
                              f"{' ...' if len(weak) > 8 else ''} ({len(weak)} in all); {state}.", resource=resource,
                              observed=observed, expected=expected)
    if note:
        return Verdict.warning(f"{shown} allows only AES-{min_aes_bits} suites for TLS 1.2, but {note}; {state}.",
                               resource=resource, observed=observed, expected=expected)
    return Verdict.passed(f"{shown} allows only {allowed}; {state}.", resource=resource, observed=observed,
                          expected=expected)


def _within(address: str, allowed: Sequence[str]) -> bool:
    """A pg_hba.conf address lies inside one of the allowed sources (CIDRs, or keywords written the same way)."""
    if address in allowed:
        return True
    try:
        host, _, mask = address.partition(" ")
        network = ipaddress.ip_network(f"{host}/{mask}" if mask else host, strict=False)
    except ValueError:
        return False  # a host name, all, samehost, samenet: not a network the controller listed
    for source in allowed:
        try:
            allowed_network = ipaddress.ip_network(source, strict=False)
        except ValueError:
            continue
        if network.version == allowed_network.version and network.subnet_of(allowed_network):  # type: ignore[arg-type]
            return True
    return False


@check(
    id="DB-0113", title="Every pg_hba.conf line for network clients demands TLS (hostssl)", severity=Severity.HIGH,
    requirements=("R2", "R8"), controls=_TRANSIT, platforms=(Platform.LINUX,), requires_root=True,
    remediation="Change each `host` (and `hostnossl`) line that accepts network clients to `hostssl`, or to "
    "`reject`, then reload PostgreSQL (`SELECT pg_reload_conf()`). Sources the controller accepts in clear (e.g. "
    "127.0.0.1/32) go in the profile parameter db_plaintext_sources.",
)
def postgres_hba_hostssl(postgres: PostgresFacts, db_plaintext_sources: list[str]) -> list[Verdict] | Verdict:
    found = _pg(postgres)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for pg in found:
        network = [r for r in pg.hba if r.type != "local"]
        clear = [r for r in network if r.type in ("host", "hostnossl") and r.method != "reject"]
        offending = [r for r in clear if not _within(r.address, db_plaintext_sources)]
        observed = {"hba_file": pg.hba_file, "network_lines": [f"{r.where}: {r.text}" for r in network],
                    "without_tls": [f"{r.where}: {r.text}" for r in offending], "state": pg.state}
        expected = {"network_lines": "hostssl (or reject)", "allowed_in_clear": list(db_plaintext_sources)}
        unread = [p for p in pg.problems if pg.hba_file in p]
        if unread or not pg.hba:
            why = unread[0] if unread else f"{pg.hba_file} holds no rule"
            verdicts.append(Verdict.warning(f"pg_hba.conf could not be judged: {why}.", resource=pg.resource,
                                            observed=observed, expected=expected))
        elif offending:
            lines = "; ".join(f"{r.where}: `{r.text}`" for r in offending)
            verdicts.append(Verdict.failed(f"pg_hba.conf accepts network clients without TLS: {lines}; "
                                           f"{pg.state}.", resource=pg.resource, observed=observed,
                                           expected=expected))
        else:
            allowed = len(clear)
            note = f" ({allowed} line(s) in clear from allowed sources)" if allowed else ""
            verdicts.append(Verdict.passed(f"All {len(network)} network line(s) of {pg.hba_file} are hostssl or "
                                           f"reject{note}; {pg.state}.", resource=pg.resource, observed=observed,
                                           expected=expected))
    return verdicts


def _pgaudit_classes(value: str) -> set[str]:
    classes: set[str] = set()
    for item in (i.strip().lower() for i in value.split(",") if i.strip()):
        if item == "all":
            classes |= {"read", "write", "function", "role", "ddl", "misc", "misc_set"}
        elif item.startswith("-"):
            classes.discard(item[1:])
        elif item != "none":
            classes.add(item)
    return classes


@check(
    id="DB-0114", title="PostgreSQL logs connections and statements (or pgaudit)", severity=Severity.MEDIUM,
    requirements=("R12",), controls=_LOGGING, platforms=(Platform.LINUX,), requires_root=True,
    remediation="Set `log_connections = on`, `log_disconnections = on` and `log_statement = 'mod'` (or load "
    "pgaudit: `shared_preload_libraries = 'pgaudit'`, `pgaudit.log = 'write, ddl'`) and reload PostgreSQL.",
)
def postgres_logging(postgres: PostgresFacts, db_statement_logging: str, db_connection_logging: bool,
                     ) -> list[Verdict] | Verdict:
    found = _pg(postgres)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for pg in found:
        missing = []
        if db_connection_logging:
            missing += [_said(pg, name) for name in ("log_connections", "log_disconnections")
                        if pg.value(name).lower() not in _TRUE]
        level = pg.value("log_statement").lower()
        preloaded = "pgaudit" in pg.value("shared_preload_libraries").replace(" ", "").split(",")
        audited = _pgaudit_classes(pg.value("pgaudit.log")) if preloaded else set()
        logged = level in _STATEMENT_LEVELS and \
            _STATEMENT_LEVELS.index(level) >= _STATEMENT_LEVELS.index(db_statement_logging)
        if not logged and not _PGAUDIT_NEEDS[db_statement_logging] <= audited:
            missing.append(f"{_said(pg, 'log_statement')} and no pgaudit covering "
                           f"{', '.join(sorted(_PGAUDIT_NEEDS[db_statement_logging]))}")
        observed = {name: pg.value(name) for name in ("log_connections", "log_disconnections", "log_statement",
                                                       "shared_preload_libraries", "pgaudit.log")}
        expected = {"connections_logged": db_connection_logging, "statements": db_statement_logging}
        if missing:
            verdicts.append(Verdict.failed(f"Not logged as the profile asks: {'; '.join(missing)}; {pg.state}.",
                                           resource=pg.resource, observed=observed, expected=expected))
        else:
            how = f"pgaudit ({pg.value('pgaudit.log')})" if not logged else _said(pg, "log_statement")
            verdicts.append(Verdict.passed(f"Connections{'' if db_connection_logging else ' (not required)'} and "
                                           f"statements are logged: {how}; {pg.state}.", resource=pg.resource,
                                           observed=observed, expected=expected))
    return verdicts


# ---- MySQL and MariaDB's configuration ---------------------------------------------------------------------

def _my(mysql: MysqlFacts) -> Sequence[MysqlInstance] | Verdict:
    return mysql.instances or Verdict.not_applicable(mysql.note or "No MySQL or MariaDB server on this host.")


def _set(instance: MysqlInstance, name: str) -> str:
    setting = instance.settings.get(name)
    where = setting.where if setting else "default"
    return f"{name} = {instance.value(name) or '(empty)'} ({where})"


def _tls_off(instance: MysqlInstance) -> str:
    """Why the server cannot offer TLS, as a clause ("" when it can): no certificate and none of its own making."""
    if not instance.tls_off:
        return ""
    cert, key, version = _set(instance, "ssl_cert"), _set(instance, "ssl_key"), instance.version
    return (f"no certificate is configured ({cert}, {key}) and MariaDB {version} makes none of its own (it does "
            "from 11.4)")


@check(
    id="DB-0210", title="MySQL or MariaDB requires TLS for every connection (require_secure_transport)",
    severity=Severity.HIGH, requirements=("R2", "R8"), controls=_TRANSIT, platforms=(Platform.LINUX,),
    requires_root=True,
    remediation="Set `require_secure_transport = ON` in the [mysqld] (MariaDB: [mariadbd]) group of an option "
    "file the server reads (Debian: /etc/mysql/mariadb.conf.d/50-server.cnf) and restart the server.",
)
def mysql_requires_tls(mysql: MysqlFacts) -> list[Verdict] | Verdict:
    found = _my(mysql)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for my in found:
        observed = {"require_secure_transport": my.value("require_secure_transport"), "state": my.state,
                    "option_files": list(my.option_files)}
        if off := _tls_off(my):
            # Without TLS, require_secure_transport = ON refuses every client over TCP rather than securing it.
            required = _set(my, "require_secure_transport")
            verdicts.append(Verdict.failed(f"TLS is off: {off}, so no client can use TLS ({required}); {my.state}.",
                                           resource=my.resource, observed=observed | {"tls": "off"},
                                           expected={"require_secure_transport": "ON", "tls": "on"}))
        elif my.enabled("require_secure_transport"):
            verdicts.append(Verdict.passed(f"{_set(my, 'require_secure_transport')}; {my.state}.",
                                           resource=my.resource, observed=observed,
                                           expected={"require_secure_transport": "ON"}))
        else:
            verdicts.append(Verdict.failed(f"Clients may connect without TLS: {_set(my, 'require_secure_transport')}"
                                           f"; {my.state}.", resource=my.resource, observed=observed,
                                           expected={"require_secure_transport": "ON"}))
    return verdicts


@check(
    id="DB-0211", title="MySQL or MariaDB accepts no TLS version older than the minimum", severity=Severity.HIGH,
    requirements=("R2", "R8"), controls=_TRANSIT, platforms=(Platform.LINUX,), requires_root=True,
    remediation="Set `tls_version = TLSv1.2,TLSv1.3` in the server's option group and restart it.",
)
def mysql_tls_versions(mysql: MysqlFacts, min_tls_version: str) -> list[Verdict] | Verdict:
    found = _my(mysql)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for my in found:
        if off := _tls_off(my):
            verdicts.append(Verdict.not_applicable(f"TLS is off (DB-0210): {off}.", resource=my.resource))
            continue
        versions = [v.strip() for v in my.value("tls_version").split(",") if v.strip()]
        old = [v for v in versions if not _version(v) or _version(v) < min_tls_version]
        observed = {"tls_version": versions, "state": my.state}
        expected = {"oldest_version": f"TLS {min_tls_version}"}
        if old or not versions:
            verdicts.append(Verdict.failed(f"{_set(my, 'tls_version')} allows "
                                           f"{', '.join(old) or 'every version'}, older than the minimum TLS "
                                           f"{min_tls_version}; {my.state}.", resource=my.resource,
                                           observed=observed, expected=expected))
        else:
            verdicts.append(Verdict.passed(f"{_set(my, 'tls_version')}; {my.state}.", resource=my.resource,
                                           observed=observed, expected=expected))
    return verdicts


@check(
    id="DB-0212", title="MySQL or MariaDB's TLS cipher suites use AES of the minimum key size",
    severity=Severity.HIGH, requirements=("R1", "R2"), controls=_TRANSIT, platforms=(Platform.LINUX,),
    requires_root=True,
    remediation="Set `ssl_cipher = ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384` (MySQL 8 also "
    "`tls_ciphersuites = TLS_AES_256_GCM_SHA384`; MariaDB takes TLS 1.3 names in ssl_cipher) and restart.",
)
def mysql_ciphers(mysql: MysqlFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> list[Verdict] | Verdict:
    found = _my(mysql)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for my in found:
        if off := _tls_off(my):
            verdicts.append(Verdict.not_applicable(f"TLS is off (DB-0210): {off}.", resource=my.resource))
            continue
        tls13_allowed = "TLSv1.3" in my.value("tls_version")
        named13 = [n for n in my.value("ssl_cipher").split(":") if n.startswith("TLS_")]
        configured = [n for n in my.value("tls_ciphersuites").split(":") if n] or named13
        weak13, note = _tls13_note(tls13_allowed, configured, "neither tls_ciphersuites nor TLS 1.3 names in "
                                   "ssl_cipher are set", min_aes_bits, chacha20_counts_as_aes256)
        # ssl_cipher's TLS 1.2 suites cannot be negotiated when tls_version allows TLS 1.3 alone, so then only the
        # TLS 1.3 suites are judged (and a string of TLS 1.3 names that `openssl ciphers` cannot expand is moot).
        only13 = {_version(v) for v in my.value("tls_version").split(",") if v.strip()} == {"1.3"}
        weak = _weak_suites(() if only13 else my.tls12_suites, min_aes_bits, chacha20_counts_as_aes256) + weak13
        observed = {"ssl_cipher": my.value("ssl_cipher"), "tls12_suites": [s.name for s in my.tls12_suites],
                    "tls13_suites": configured, "weak": weak, "state": my.state}
        if only13:
            shown13 = _set(my, "tls_ciphersuites" if my.value("tls_ciphersuites") else "ssl_cipher")
            verdicts.append(_cipher_verdict(shown13, "", weak, note, ", ".join(configured), min_aes_bits, my.state,
                                            my.resource, observed, only13=_set(my, "tls_version")))
            continue
        shown = _set(my, "ssl_cipher") + ("" if my.value("ssl_cipher") else ", OpenSSL's DEFAULT list")
        allowed = ", ".join(s.name for s in my.tls12_suites) + (" and " + ", ".join(configured) if configured else "")
        verdicts.append(_cipher_verdict(shown, my.cipher_problem, weak, note, allowed, min_aes_bits, my.state,
                                        my.resource, observed))
    return verdicts


def _plugins(instance: MysqlInstance) -> str:
    return f"{instance.value('plugin_load')};{instance.value('plugin_load_add')}".lower()


def _audit(my: MysqlInstance, db_statement_logging: str, db_connection_logging: bool) -> tuple[str, list[str]]:
    """(how the server logs, what the profile misses in it); ("", []) when it has no audit or general log."""
    if my.enabled("general_log") and my.value("log_output").upper() != "NONE":
        return f"the general log ({_set(my, 'general_log')}, log_output = {my.value('log_output')})", []
    if my.enabled("server_audit_logging"):
        events = {e.strip().upper() for e in my.value("server_audit_events").split(",") if e.strip()}
        missing = []
        if events and db_connection_logging and "CONNECT" not in events:
            missing.append("CONNECT")
        wanted = {"ddl": {"QUERY", "QUERY_DDL"}, "mod": {"QUERY", "QUERY_DML"}, "all": {"QUERY"}}
        if events and db_statement_logging != "none" and not events & wanted[db_statement_logging]:
            missing.append(" or ".join(sorted(wanted[db_statement_logging])))
        return f"the server_audit plugin ({_set(my, 'server_audit_logging')}, events " \
               f"{', '.join(sorted(events)) or 'all'})", missing
    if "audit_log" in _plugins(my) and my.value("audit_log").upper() not in {"OFF", "0"}:
        policy = (my.value("audit_log_policy") or "ALL").upper()
        missing = [] if policy == "ALL" else [f"audit_log_policy = {policy} (ALL logs logins and queries)"]
        return f"the audit_log plugin ({_set(my, 'plugin_load_add')})", missing
    return "", []


@check(
    id="DB-0213", title="MySQL or MariaDB keeps an audit log or general log of connections and statements",
    severity=Severity.MEDIUM, requirements=("R12",), controls=_LOGGING, platforms=(Platform.LINUX,),
    requires_root=True,
    remediation="Load an audit plugin (MariaDB: `plugin_load_add = server_audit`, `server_audit_logging = ON`, "
    "`server_audit_events = CONNECT,QUERY`; MySQL Enterprise or Percona: audit_log) or set `general_log = ON`, "
    "and restart the server.",
)
def mysql_audit_log(mysql: MysqlFacts, db_statement_logging: str, db_connection_logging: bool,
                    ) -> list[Verdict] | Verdict:
    found = _my(mysql)
    if isinstance(found, Verdict):
        return found
    verdicts = []
    for my in found:
        how, missing = _audit(my, db_statement_logging, db_connection_logging)
        observed = {name: my.value(name) for name in ("general_log", "log_output", "plugin_load_add",
                                                       "server_audit_logging", "server_audit_events",
                                                       "audit_log_policy")}
        expected = {"connections_logged": db_connection_logging, "statements": db_statement_logging}
        if not how:
            verdicts.append(Verdict.failed(f"Neither an audit plugin nor the general log is on: "
                                           f"{_set(my, 'general_log')}, {_set(my, 'server_audit_logging')}, "
                                           f"{_set(my, 'plugin_load_add')}; {my.state}.", resource=my.resource,
                                           observed=observed, expected=expected))
        elif missing:
            verdicts.append(Verdict.failed(f"Logged by {how}, but without {', '.join(missing)}; {my.state}.",
                                           resource=my.resource, observed=observed, expected=expected))
        else:
            verdicts.append(Verdict.passed(f"Logged by {how}; {my.state}.", resource=my.resource,
                                           observed=observed, expected=expected))
    return verdicts
