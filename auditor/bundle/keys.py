"""The processor's keys: an Ed25519 pair that signs run manifests and an X25519 pair that bundles are sealed to.

Keys live in one folder (default ~/.config/auditor/keys): `signing.key` (Ed25519, PKCS#8 PEM encrypted
with a passphrase), `signing.pub`, `seal.key` (X25519, encrypted likewise) and `seal.pub`. The
passphrase comes from AUDITOR_KEY_PASSPHRASE or a prompt; it is never stored or logged.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import InputError
from auditor.files import write_atomic
from auditor.preflight import existing_file, writable_folder
from auditor.records import record

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

# cryptography is imported by the functions that use it: every command reads this module (the activity log's
# key folder), and most never touch a key.

PASSPHRASE_ENV = "AUDITOR_KEY_PASSPHRASE"
# A bundle's own passphrase is told to whoever opens the bundle: it must never be the private keys' passphrase,
# so it has its own variable.
BUNDLE_PASSPHRASE_ENV = "AUDITOR_BUNDLE_PASSPHRASE"


def fingerprint(public_raw: bytes) -> str:
    """SHA256:<base64> of the raw public key, as OpenSSH prints key fingerprints."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(public_raw).digest()).decode().rstrip("=")


def raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# A new passphrase shorter than this is refused (NIST SP 800-63B's floor for a memorised secret); one that already
# protects a key or bundle is accepted as it is, or what it protects could not be opened.
NEW_PASSPHRASE_MIN = 8


def passphrase(purpose: str, *, confirm: bool = False, variable: str = PASSPHRASE_ENV) -> bytes:
    """From the environment `variable` (the private keys' AUDITOR_KEY_PASSPHRASE, or a bundle's own), else a
    prompt on a terminal; never echoed, stored or logged. confirm: a new passphrase (asked twice at a prompt, and
    at least NEW_PASSPHRASE_MIN characters)."""
    value = os.environ.get(variable)
    if value:
        return _long_enough(value, confirm, variable).encode()
    if value == "":
        raise InputError("the passphrase is empty", variable, f"set {variable} to the passphrase, or unset it to "
                         "be asked on a terminal")
    if not sys.stdin.isatty():
        raise InputError(f"a passphrase is needed to {purpose}", variable,
                         f"set {variable} in the environment (e.g. from a systemd credential)")
    try:
        first = getpass.getpass(f"Passphrase to {purpose}: ")
        if confirm and getpass.getpass("Repeat the passphrase: ") != first:
            raise InputError("the passphrases differ", "prompt", "type the same passphrase twice")
    except (EOFError, KeyboardInterrupt) as exc:
        _end_prompt_line()
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise InputError(f"no passphrase was given to {purpose} (input ended at the prompt); nothing was done",
                         "prompt", f"type the passphrase, or set {variable}") from None
    if not first:
        raise InputError("an empty passphrase is not allowed", "prompt", "choose a passphrase")
    return _long_enough(first, confirm, "prompt").encode()


def _long_enough(value: str, new: bool, where: str) -> str:
    if new and len(value) < NEW_PASSPHRASE_MIN:
        raise InputError(f"a new passphrase needs at least {NEW_PASSPHRASE_MIN} characters, this one has "
                         f"{len(value)}; nothing was done", where, "choose a longer passphrase")
    return value


def _end_prompt_line() -> None:
    """Finish the prompt's line on the terminal (getpass does not when input ends), so the refusal starts a line."""
    try:
        with open("/dev/tty", "w", encoding="utf-8") as tty:
            tty.write("\n")
    except OSError:
        pass  # no terminal: the prompt went nowhere either


@record
class KeyPaths:
    folder: Path

    @property
    def signing_key(self) -> Path:
        return self.folder / "signing.key"

    @property
    def signing_pub(self) -> Path:
        return self.folder / "signing.pub"

    @property
    def seal_key(self) -> Path:
        return self.folder / "seal.key"

    @property
    def seal_pub(self) -> Path:
        return self.folder / "seal.pub"

    @property
    def log_key(self) -> Path:
        return self.folder / "audit-log.key"


def check_new_key_folder(folder: Path) -> None:
    """Refuse, before a passphrase is asked for, a key folder that holds keys or cannot be written."""
    paths = KeyPaths(folder)
    if paths.signing_key.exists() or paths.seal_key.exists():
        raise InputError("keys already exist there; auditor never overwrites a key", str(folder),
                         "use another --dir, or move the old keys away first")
    writable_folder(folder, "--dir")


def init_keys(folder: Path, secret: bytes) -> dict[str, str]:
    """Create the signing and sealing key pairs; refuses to overwrite existing keys."""
    check_new_key_folder(folder)
    paths = KeyPaths(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    encryption = serialization.BestAvailableEncryption(secret)
    signing = Ed25519PrivateKey.generate()
    sealing = X25519PrivateKey.generate()
    for path, private in ((paths.signing_key, signing), (paths.seal_key, sealing)):
        data = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        _write_private(path, data)
    write_atomic(paths.signing_pub, _public_text("ed25519", raw_public(signing.public_key())))
    write_atomic(paths.seal_pub, _public_text("x25519", raw_public(sealing.public_key())))
    log_key(folder, create=True)  # kept when the activity log made it first: its entries are MACed under it
    return {"signing": fingerprint(raw_public(signing.public_key())),
            "seal": fingerprint(raw_public(sealing.public_key()))}


def log_key(folder: Path, *, create: bool) -> bytes | None:
    """The activity log's HMAC key (`audit-log.key`, 32 random bytes, mode 0600); made on first use when `create`.

    It is not encrypted: every command appends to the log, most without a passphrase at hand. Whoever can read
    it can rewrite the log, which is why signed run manifests anchor the log as well.
    """
    path = KeyPaths(folder).log_key
    if create and not path.exists():
        _create_log_key(folder, path)
    try:
        parts = path.read_text(encoding="ascii").split()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"the activity log key cannot be read ({exc})", str(path),
                         "restore it from a backup of the key folder") from None
    try:
        raw = base64.b64decode(parts[1], validate=True) if parts[:1] == [_LOG_KEY_KIND] and len(parts) == 2 else b""
    except ValueError:
        raw = b""
    if len(raw) != _LOG_KEY_BYTES:
        raise InputError("the activity log key is damaged", str(path),
                         "restore it from a backup of the key folder (auditor never overwrites a key)")
    return raw


_LOG_KEY_KIND = "auditor-log-hmac-sha256"
_LOG_KEY_BYTES = 32


def _create_log_key(folder: Path, path: Path) -> None:
    """Write a new key under a temporary name and link it into place: two first uses at once keep one key."""
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)  # two first uses at once may both make it
    text = f"{_LOG_KEY_KIND} {base64.b64encode(os.urandom(_LOG_KEY_BYTES)).decode()}\n".encode()
    scratch = folder / f".{path.name}.{os.getpid()}.tmp"
    scratch.unlink(missing_ok=True)  # left by an earlier process of the same id that was killed here
    _write_private(scratch, text)
    try:
        os.link(scratch, path)
    except FileExistsError:
        pass  # another auditor made it first; its key is the one
    finally:
        scratch.unlink()


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _public_text(kind: str, raw: bytes) -> bytes:
    """One line, like an OpenSSH public key: 'auditor-ed25519 <base64> <fingerprint>'."""
    return f"auditor-{kind} {base64.b64encode(raw).decode()} {fingerprint(raw)}\n".encode()


def read_public(path: Path, kind: str, flag: str = "") -> bytes:
    """The raw 32-byte public key from a .pub file (or the text itself given as a recipient); `flag` names it."""
    if path.is_file():
        text = _key_text(path).decode("utf-8", "replace").strip()
    elif str(path).startswith("auditor-") and " " in str(path):  # the key's text itself, given as a recipient
        text = str(path)
    else:
        existing_file(path, flag, f"give the {kind} .pub file made by `auditor keys init`")
        text = ""
    parts = text.split()
    if len(parts) < 2 or parts[0] != f"auditor-{kind}":
        raise InputError(f"not an auditor {kind} public key", str(path),
                         f"give the {kind} .pub file made by `auditor keys init`")
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InputError(f"the {kind} public key is damaged", str(path), "copy the .pub file again")
    return raw


_KEY_FILE_LIMIT = 64 * 1024  # key files are a few hundred bytes; more is not a key


def _key_text(path: Path) -> bytes:
    """A key file's bytes, read only up to a bound (a device or a huge file is not a key)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_KEY_FILE_LIMIT + 1)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", str(path), "check the file's permissions") from None
    if len(data) > _KEY_FILE_LIMIT:
        raise InputError("is too large to be an auditor key file", str(path),
                         "give the key file made by `auditor keys init`")
    return data


def check_private(path: Path) -> None:
    """Refuse, before a passphrase is asked for, a private key path that is missing or not a file."""
    if not path.exists():
        raise InputError("key file not found", str(path), "run `auditor keys init` or give --key")
    existing_file(path, "", "give the .key file made by `auditor keys init`")
    if _key_text(path).startswith(b"auditor-"):  # a .pub file's first word: the public half was given
        raise InputError("this is a public key, not a private one", str(path),
                         f"give the private key beside it ({path.with_suffix('.key').name})")


def load_private(path: Path, secret: bytes) -> Any:
    """The private key in `path`, unlocked with `secret`."""
    check_private(path)
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(_key_text(path), password=secret)
    except (ValueError, TypeError):
        raise InputError("the passphrase is wrong or the key file is damaged", str(path),
                         "check the passphrase") from None
