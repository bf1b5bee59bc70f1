"""The built-in check pack, registered under the `auditor.checks` entry-point group like any other pack.

Families and their id prefixes (one module each; a new family gets a module and a line here):
    BACKUP-xxxx  backups exist, are recent and encrypted       (backup.py)
    DB-xxxx      PostgreSQL and MySQL/MariaDB: TLS required, logging (database.py)
    DISK-xxxx    disk encryption with AES-256                  (disk_encryption.py; Windows/macOS: disk_native.py)
    FW-xxxx      host firewall                                 (network.py)
    LOCK-xxxx    screen lock on workstations                   (workstation.py)
    LOG-xxxx     logging of processing, and time               (audit_logging.py)
    MALW-xxxx    anti-malware                                  (malware.py)
    NET-xxxx     listening services, VPN routing               (network.py)
    PATCH-xxxx   pending security updates                      (patching.py)
    PII-xxxx     personal data in clear, pseudonymisation      (pseudonymisation.py)
    SSH-xxxx     the SSH daemon: its configuration (sshd.py), what it offers on the network (ssh.py)
    TLS-xxxx     TLS endpoints, and plaintext refused beside them (tls.py, tls_certificate.py, plaintext.py)
    VPN-xxxx     VPN for work outside the office               (vpn.py)
platform_native.py holds the Windows and macOS halves that audit_logging.py calls.
"""
