"""sshd's configuration as sshd itself reads it, for the sshd collector (auditor/collectors/sshd.py).

    tree.py        the files: lines split by sshd's rules, `Include` spliced in place (pure data)
    reading.py     fetching a tree from a target: files and Include globs, in as few round trips as possible
    conditions.py  `Match` criteria: whether one applies to a connection, and a connection that triggers it
    values.py      the evaluated keywords and how sshd prints their values
    openssh.py     OpenSSH's compiled-in defaults per release (from the real builds' `sshd -T`)
    evaluate.py    the effective configuration of a tree for a connection (first value wins, Match, lists)
    daemons.py     which sshd listen and with which options (ss, ps, /proc, the ssh unit)
    namespace.py   `sshd -T` where sshd never ran, in a private mount namespace
"""
