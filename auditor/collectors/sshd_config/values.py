"""The sshd keywords the scanner evaluates from files, and how sshd reads and prints each value.

A value is turned into the text `sshd -T` prints for it (servconf.c `dump_config`): flags as yes/no whatever
their case, multistate words by their first name (`prohibit-password` prints as `without-password`), times in
seconds (`1m30s` is 90), log levels by name (`debug` is DEBUG). Keywords outside this table are kept as written
(first value wins) but not normalised, so only these are compared with sshd's own answer.
"""

from __future__ import annotations

import re

# Every keyword sshd takes (servconf.c's table of OpenSSH 8.0, 9.2 and 10.0, deprecated ones included: sshd only
# warns about those), and those Debian's and Red Hat's patches add (GSSAPI key exchange, DebianBanner, kuserok).
# Any other stops sshd ("Bad configuration option"): a typo leaves the running daemon on its earlier settings.
KEYWORDS = frozenset({
    "acceptenv", "addressfamily", "afstokenpassing", "allowagentforwarding", "allowgroups",
    "allowstreamlocalforwarding", "allowtcpforwarding", "allowusers", "authenticationmethods",
    "authorizedkeyscommand", "authorizedkeyscommanduser", "authorizedkeysfile", "authorizedkeysfile2",
    "authorizedprincipalscommand", "authorizedprincipalscommanduser", "authorizedprincipalsfile", "banner",
    "casignaturealgorithms", "challengeresponseauthentication", "channeltimeout", "checkmail",
    "chrootdirectory", "ciphers", "clientalivecountmax", "clientaliveinterval", "compression", "denygroups",
    "denyusers", "disableforwarding", "dsaauthentication", "exposeauthinfo", "fingerprinthash", "forcecommand",
    "gatewayports", "gssapiauthentication", "gssapicleanupcredentials", "gssapistrictacceptorcheck",
    "hostbasedacceptedalgorithms", "hostbasedacceptedkeytypes", "hostbasedauthentication",
    "hostbasedusesnamefrompacketonly", "hostcertificate", "hostdsakey", "hostkey", "hostkeyagent",
    "hostkeyalgorithms", "ignorerhosts", "ignoreuserknownhosts", "include", "ipqos",
    "kbdinteractiveauthentication", "keepalive", "kerberosauthentication", "kerberosgetafstoken",
    "kerberosorlocalpasswd", "kerberostgtpassing", "kerberosticketcleanup", "kexalgorithms",
    "keyregenerationinterval", "listenaddress", "logingracetime", "loglevel", "logverbose", "macs", "match",
    "maxauthtries", "maxsessions", "maxstartups", "modulifile", "pamauthenticationviakbdint", "pamservicename",
    "passwordauthentication", "permitemptypasswords", "permitlisten", "permitopen", "permitrootlogin",
    "permittty", "permittunnel", "permituserenvironment", "permituserrc", "persourcemaxstartups",
    "persourcenetblocksize", "persourcepenalties", "persourcepenaltyexemptlist", "pidfile", "port",
    "printlastlog", "printmotd", "protocol", "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes",
    "pubkeyauthentication", "pubkeyauthoptions", "rdomain", "refuseconnection", "rekeylimit", "requiredrsasize",
    "reversemappingcheck", "revokedkeys", "rhostsauthentication", "rhostsrsaauthentication",
    "rsaauthentication", "securitykeyprovider", "serverkeybits", "setenv", "skeyauthentication", "sshdauthpath",
    "sshdsessionpath", "streamlocalbindmask", "streamlocalbindunlink", "strictmodes", "subsystem",
    "syslogfacility", "tcpkeepalive", "trustedusercakeys", "unusedconnectiontimeout", "usedns", "uselogin",
    "usepam", "useprivilegeseparation", "verifyreversemapping", "versionaddendum", "x11displayoffset",
    "x11forwarding", "x11uselocalhost", "xauthlocation",
    "gssapidelegatecredentials",  # OpenSSH 10.3's
    "debianbanner", "gssapienablek5users", "gssapikexalgorithms", "gssapikeyexchange", "gssapistorecredentialsonrekey",
    "kerberosusekuserok",
})
# The release that added each keyword newer than OpenSSH 7.4 (servconf.c's tables of 7.4 to 10.3): an older sshd
# stops on it ("Bad configuration option"), as on a typo. (Include, 8.2's, is followed whatever the release.)
INTRODUCED: dict[str, tuple[int, int]] = {
    "exposeauthinfo": (7, 6), "rdomain": (7, 7), "permitlisten": (7, 8), "setenv": (7, 8),
    "casignaturealgorithms": (7, 9), "pubkeyauthoptions": (8, 2), "securitykeyprovider": (8, 2),
    "hostbasedacceptedalgorithms": (8, 5), "logverbose": (8, 5), "persourcemaxstartups": (8, 5),
    "persourcenetblocksize": (8, 5), "pubkeyacceptedalgorithms": (8, 5), "modulifile": (8, 6),
    "requiredrsasize": (9, 1), "channeltimeout": (9, 2), "unusedconnectiontimeout": (9, 2), "pamservicename": (9, 8),
    "persourcepenalties": (9, 8), "persourcepenaltyexemptlist": (9, 8), "sshdsessionpath": (9, 8),
    "refuseconnection": (9, 9), "sshdauthpath": (10, 0), "gssapidelegatecredentials": (10, 3),
}
# Keyword aliases, as sshd's keyword table maps them (the first name is what `sshd -T` prints).
ALIASES = {
    "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
    "hostbasedacceptedkeytypes": "hostbasedacceptedalgorithms",
    "skeyauthentication": "kbdinteractiveauthentication",
    "dsaauthentication": "pubkeyauthentication",
}
# OpenSSH 8.7 made ChallengeResponseAuthentication an alias of KbdInteractiveAuthentication; before, both existed.
CHALLENGE_ALIAS_SINCE = (8, 7)

FLAGS = frozenset({
    "passwordauthentication", "kbdinteractiveauthentication", "challengeresponseauthentication", "usepam",
    "permitemptypasswords", "x11forwarding", "disableforwarding", "hostbasedauthentication", "strictmodes",
    "pubkeyauthentication",
})
_MULTISTATE = {
    "permitrootlogin": {"without-password": "without-password", "prohibit-password": "without-password",
                        "forced-commands-only": "forced-commands-only", "yes": "yes", "no": "no"},
    "allowtcpforwarding": {"yes": "yes", "all": "yes", "no": "no", "remote": "remote", "local": "local"},
    "ignorerhosts": {"yes": "yes", "no": "no", "shosts-only": "shosts-only"},
}
INTEGERS = frozenset({"maxauthtries", "maxsessions", "clientalivecountmax"})
TIMES = frozenset({"logingracetime", "clientaliveinterval"})
# log.c's names, as `sshd -T` prints each level back (QUIET and SILENT are one level, DEBUG and DEBUG1 another).
_LOG_LEVELS = {"quiet": "SILENT", "silent": "SILENT", "fatal": "FATAL", "error": "ERROR", "info": "INFO",
               "verbose": "VERBOSE", "debug": "DEBUG", "debug1": "DEBUG", "debug2": "DEBUG2", "debug3": "DEBUG3"}
_INTEGER = re.compile(r"\+?[0-9]{1,10}")  # strtonum: ASCII digits, a leading +; up to INT_MAX
LISTS = ("ciphers", "macs", "kexalgorithms", "hostkeyalgorithms", "pubkeyacceptedalgorithms",
         "hostbasedacceptedalgorithms", "casignaturealgorithms")
# Every keyword the scanner evaluates and compares with `sshd -T`.
EVALUATED = frozenset({*FLAGS, *_MULTISTATE, *INTEGERS, *TIMES, "loglevel", "permituserenvironment", *LISTS})
# Keywords allowed inside a Match block (servconf.c keywords flagged SSHCFG_ALL); others apply globally only.
MATCH_KEYWORDS = frozenset({
    "permitrootlogin", "loglevel", "logverbose", "hostbasedauthentication", "hostbasedusesnamefrompacketonly",
    "hostbasedacceptedalgorithms", "pubkeyauthentication", "pubkeyacceptedalgorithms", "pubkeyauthoptions",
    "kerberosauthentication", "gssapiauthentication", "passwordauthentication", "kbdinteractiveauthentication",
    "challengeresponseauthentication", "ignorerhosts", "x11forwarding", "x11displayoffset", "x11uselocalhost",
    "permitemptypasswords", "rekeylimit", "allowtcpforwarding", "allowagentforwarding", "allowusers", "denyusers",
    "allowgroups", "denygroups", "gatewayports", "maxauthtries", "maxsessions", "banner", "clientaliveinterval",
    "clientalivecountmax", "authorizedkeysfile", "acceptenv", "setenv", "permittunnel", "permittty",
    "permituserrc", "permitopen", "permitlisten", "forcecommand", "chrootdirectory", "revokedkeys",
    "trustedusercakeys", "authorizedprincipalsfile", "ipqos", "authorizedkeyscommand",
    "authorizedkeyscommanduser", "authorizedprincipalscommand", "authorizedprincipalscommanduser",
    "authenticationmethods", "streamlocalbindmask", "streamlocalbindunlink", "allowstreamlocalforwarding",
    "disableforwarding", "exposeauthinfo", "rdomain", "casignaturealgorithms", "requiredrsasize",
    "channeltimeout", "unusedconnectiontimeout",
})

# Keywords no OpenSSH release from 7.4 to 10.3 allows in a Match block (servconf.c: neither SSHCFG_ALL nor
# SSHCFG_MATCH in any of them). Under a Match that does not hold at start-up, sshd stops on one ("Directive
# 'Port' is not allowed within a Match block"); keywords some release allows there are not counted.
GLOBAL_ONLY = frozenset({
    "addressfamily", "afstokenpassing", "checkmail", "ciphers", "compression", "dsaauthentication",
    "fingerprinthash", "gssapicleanupcredentials", "gssapidelegatecredentials", "gssapistrictacceptorcheck",
    "hostcertificate", "hostdsakey", "hostkey", "hostkeyagent", "hostkeyalgorithms", "ignoreuserknownhosts",
    "keepalive", "kerberosgetafstoken", "kerberosorlocalpasswd", "kerberostgtpassing", "kerberosticketcleanup",
    "kexalgorithms", "keyregenerationinterval", "listenaddress", "logingracetime", "macs", "maxstartups",
    "modulifile", "pamauthenticationviakbdint", "permituserenvironment", "persourcemaxstartups",
    "persourcenetblocksize", "persourcepenalties", "persourcepenaltyexemptlist", "pidfile", "port", "printlastlog",
    "printmotd", "protocol", "reversemappingcheck", "rhostsauthentication", "securitykeyprovider", "serverkeybits",
    "sshdauthpath", "sshdsessionpath", "strictmodes", "syslogfacility", "tcpkeepalive", "usedns", "uselogin",
    "usepam", "useprivilegeseparation", "verifyreversemapping", "versionaddendum", "xauthlocation",
})


def canonical_keyword(keyword: str, version: tuple[int, int]) -> str:
    """The name `sshd -T` prints for a keyword as written (lower-case)."""
    if keyword == "challengeresponseauthentication" and version >= CHALLENGE_ALIAS_SINCE:
        return "kbdinteractiveauthentication"
    return ALIASES.get(keyword, keyword)


def seconds(text: str) -> int:
    """misc.c `convtime`: "90", "1m30s", "2h" -> seconds. Raises ValueError as sshd refuses the line."""
    total, number = 0, ""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    for char in text.removeprefix("+") if text[1:2].isdigit() else text:  # strtol takes a leading +
        if char.isdigit():
            number += char
        elif char.lower() in units and number:
            total, number = total + int(number) * units[char.lower()], ""
        else:
            raise ValueError(f"invalid time value {text!r}")
    if not text:
        raise ValueError("empty time value")
    return total + int(number or 0)


def printed(keyword: str, argument: str) -> str:
    """The value as `sshd -T` prints it. Raises ValueError for a value sshd refuses (it would not start)."""
    if keyword in FLAGS:
        if argument.lower() not in ("yes", "no"):
            raise ValueError(f"unsupported option {argument!r} for {keyword}")
        return argument.lower()
    if keyword in _MULTISTATE:
        names = _MULTISTATE[keyword]
        if argument.lower() not in names:
            raise ValueError(f"unsupported option {argument!r} for {keyword}")
        return names[argument.lower()]
    if keyword in INTEGERS:
        if not _INTEGER.fullmatch(argument) or int(argument) > 2**31 - 1:
            raise ValueError(f"{keyword} integer value {argument!r} is invalid")
        return str(int(argument))
    if keyword in TIMES:
        return str(seconds(argument))
    if keyword == "loglevel":
        if argument.lower() not in _LOG_LEVELS:
            raise ValueError(f"unsupported log level {argument!r}")
        return _LOG_LEVELS[argument.lower()]
    return argument  # PermitUserEnvironment: yes, no (exactly) or a pattern list, printed as written
