"""The paramiko client auditor logs in with: paramiko 5.1 plus what modern and legacy servers need.

Modern, always offered: `curve25519-sha256` (RFC 8731; paramiko knows the same algorithm only by its older
name `curve25519-sha256@libssh.org`) and `chacha20-poly1305@openssh.com` (OpenSSH's PROTOCOL.chacha20poly1305;
a server may offer it alone). `mlkem768x25519-sha256` comes with paramiko when cryptography has ML-KEM;
`sntrup761x25519-sha512` has no Python implementation to lean on, so a server offering only that kex is assessed
from the network alone.

Legacy, offered only when the target opts in (`legacy_ssh: true`, `--legacy-ssh`), after every modern one:
SHA-1 key exchanges, `ssh-rsa` (SHA-1) host-key signatures, CBC and 3DES ciphers, SHA-1 and MD5 MACs.
DSA host keys are not supported (paramiko 5 dropped DSA). Everything is set on the subclass or the instance,
never on paramiko's own classes, so no other paramiko user in the process is affected.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, ClassVar

import paramiko
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from paramiko.kex_curve25519 import KexCurve25519
from paramiko.kex_gex import KexGexSHA256
from paramiko.kex_group14 import KexGroup14SHA256

# paramiko logs each failed handshake with a traceback; every such failure is raised by auditor as a
# TransportError (or a probe's answer) with its reason, so the duplicate would only clutter the scan's console.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)

CHACHA20 = "chacha20-poly1305@openssh.com"
_TAG = 16

# In the client's order of preference: AES-256 first (the annex asks for it), then the rest.
MODERN_KEX = ("mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp521",
              "ecdh-sha2-nistp384", "ecdh-sha2-nistp256", "diffie-hellman-group16-sha512",
              "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256")
MODERN_CIPHERS = ("aes256-gcm@openssh.com", "aes256-ctr", CHACHA20, "aes128-gcm@openssh.com", "aes192-ctr",
                  "aes128-ctr")
MODERN_MACS = ("hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512", "hmac-sha2-256")
MODERN_KEYS = ("ssh-ed25519", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256", "rsa-sha2-512",
               "rsa-sha2-256")
LEGACY_KEX = ("diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1", "diffie-hellman-group1-sha1")
LEGACY_CIPHERS = ("aes256-cbc", "aes192-cbc", "aes128-cbc", "3des-cbc")
LEGACY_MACS = ("hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96")
LEGACY_KEYS = ("ssh-rsa",)


class _KexGroup14SHA1(KexGroup14SHA256):  # type: ignore[misc]  # paramiko ships no type hints
    name = "diffie-hellman-group14-sha1"
    hash_algo = hashlib.sha1


class _KexGroup1SHA1(_KexGroup14SHA1):
    # RFC 2409 6.2, the 1024-bit Oakley group 2 ("group1" in SSH).
    P = int("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3"
            "CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9"
            "F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)
    name = "diffie-hellman-group1-sha1"


class _KexGexSHA1(KexGexSHA256):  # type: ignore[misc]  # paramiko ships no type hints
    name = "diffie-hellman-group-exchange-sha1"
    hash_algo = hashlib.sha1


class _SHA1RSAKey(paramiko.RSAKey):  # type: ignore[misc]  # paramiko ships no type hints
    """An RSA host key that also verifies `ssh-rsa` (SHA-1) signatures, which paramiko 5 refuses."""

    HASHES: ClassVar[dict[str, Any]] = {**paramiko.RSAKey.HASHES, "ssh-rsa": hashes.SHA1}


class ChaCha20Poly1305:
    """chacha20-poly1305@openssh.com as paramiko's AEAD engine interface (encrypt/decrypt with iv and aad).

    The 64-byte key is two ChaCha20 keys: the second encrypts the 4-byte packet length, the first the packet,
    and Poly1305 (keyed by the first block of the packet key's stream) authenticates both. The nonce is the
    packet sequence number, which _Packetizer keeps in step; paramiko's own iv is not used.
    """

    def __init__(self, key: bytes) -> None:
        self._main, self._header = key[:32], key[32:64]
        self.seqno = 0
        self.length = b""  # the encrypted length of the packet in hand

    def _stream(self, key: bytes, counter: int, data: bytes) -> bytes:
        nonce = counter.to_bytes(8, "little") + self.seqno.to_bytes(8, "big")
        return bytes(Cipher(algorithms.ChaCha20(key, nonce), mode=None).encryptor().update(data))

    def _poly_key(self) -> bytes:
        return self._stream(self._main, 0, bytes(32))

    def encrypt(self, _iv: bytes, packet: bytes, length: bytes) -> bytes:
        self.length = self._stream(self._header, 0, length)
        body = self._stream(self._main, 1, packet)
        tag = poly1305.Poly1305.generate_tag(self._poly_key(), self.length + body)
        self.seqno = (self.seqno + 1) & 0xFFFFFFFF
        return body + tag

    def open_length(self, encrypted: bytes) -> bytes:
        self.length = encrypted
        return self._stream(self._header, 0, encrypted)

    def decrypt(self, _iv: bytes, data: bytes, _aad: bytes) -> bytes:
        body, tag = data[:-_TAG], data[-_TAG:]
        try:
            poly1305.Poly1305.verify_tag(self._poly_key(), self.length + body, tag)
        except InvalidSignature:
            raise paramiko.SSHException("Mismatched MAC") from None
        packet = self._stream(self._main, 1, body)
        self.seqno = (self.seqno + 1) & 0xFFFFFFFF
        return packet


class _Packetizer(paramiko.Packetizer):  # type: ignore[misc]  # paramiko ships no type hints
    """paramiko's packetizer, which under chacha20-poly1305 also encrypts and decrypts the packet length.

    paramiko's AEAD path sends the length in the clear (as AES-GCM does): it is swapped for the encrypted
    one on the way out (write_all) and decrypted on the way in (the first read of each packet).
    """

    def __init__(self, sock: Any) -> None:
        super().__init__(sock)
        self._chacha_in: ChaCha20Poly1305 | None = None
        self._chacha_out: ChaCha20Poly1305 | None = None

    # The sequence number is the nonce; paramiko keeps it private (name-mangled) in this class.
    def set_outbound_cipher(self, block_engine: Any, *args: Any, **kwargs: Any) -> None:
        super().set_outbound_cipher(block_engine, *args, **kwargs)
        self._chacha_out = block_engine if isinstance(block_engine, ChaCha20Poly1305) else None
        if self._chacha_out is not None:
            self._chacha_out.seqno = self._Packetizer__sequence_number_out

    def set_inbound_cipher(self, block_engine: Any, *args: Any, **kwargs: Any) -> None:
        super().set_inbound_cipher(block_engine, *args, **kwargs)
        self._chacha_in = block_engine if isinstance(block_engine, ChaCha20Poly1305) else None
        if self._chacha_in is not None:
            self._chacha_in.seqno = self._Packetizer__sequence_number_in

    def reset_seqno_in(self) -> None:  # strict kex restarts the numbering after NEWKEYS
        super().reset_seqno_in()
        if self._chacha_in is not None:
            self._chacha_in.seqno = 0

    def write_all(self, out: bytes) -> None:
        if self._chacha_out is not None and self._chacha_out.length:
            out, self._chacha_out.length = self._chacha_out.length + out[4:], b""
        super().write_all(out)

    def read_all(self, n: int, check_rekey: bool = False) -> bytes:
        data = bytes(super().read_all(n, check_rekey))
        if check_rekey and self._chacha_in is not None:  # read_message's first read of a packet
            data = self._chacha_in.open_length(data[:4]) + data[4:]
        return data


def _kex_info() -> dict[str, Any]:
    known = dict(paramiko.Transport._kex_info)
    if "curve25519-sha256@libssh.org" in known:
        known["curve25519-sha256"] = KexCurve25519
    return known | {k.name: k for k in (_KexGroup14SHA1, _KexGroup1SHA1, _KexGexSHA1)}


class AuditTransport(paramiko.Transport):  # type: ignore[misc]  # paramiko ships no type hints
    """A paramiko client Transport that offers the modern algorithms above, and the legacy ones when `legacy`."""

    _kex_info: ClassVar[dict[str, Any]] = _kex_info()
    _cipher_info: ClassVar[dict[str, Any]] = {
        **paramiko.Transport._cipher_info,
        CHACHA20: {"class": ChaCha20Poly1305, "block-size": 8, "key-size": 64, "iv-size": 0, "is_aead": True}}
    _key_info: ClassVar[dict[str, Any]] = {**paramiko.Transport._key_info, "ssh-rsa": _SHA1RSAKey}

    def __init__(self, sock: Any, legacy: bool) -> None:
        super().__init__(sock, packetizer_class=_Packetizer)
        self.legacy = legacy
        extra = (LEGACY_KEX, LEGACY_CIPHERS, LEGACY_MACS, LEGACY_KEYS) if legacy else ((), (), (), ())
        self._preferred_kex = tuple(k for k in MODERN_KEX + extra[0] if k in self._kex_info)
        self._preferred_ciphers = MODERN_CIPHERS + extra[1]
        self._preferred_macs = MODERN_MACS + extra[2]
        self._preferred_keys = MODERN_KEYS + extra[3]
        self.agreed_kex = ""

    def _parse_kex_init(self, m: paramiko.Message) -> None:
        super()._parse_kex_init(m)
        # paramiko keeps the kex engine, not the name agreed (two names share one engine): note it here.
        offered = paramiko.Message(self.remote_kex_init)
        offered.get_byte()
        offered.get_bytes(16)
        server_kex = offered.get_list()
        self.agreed_kex = next((k for k in self.preferred_kex if k in server_kex), "")

    def agreed(self) -> dict[str, str]:
        """The algorithms this connection negotiated (after start_client)."""
        return {"kex": self.agreed_kex,
                "host_key": self.host_key_type or "", "cipher_out": self.local_cipher,
                "cipher_in": self.remote_cipher, "mac_out": self.local_mac or "", "mac_in": self.remote_mac or ""}
