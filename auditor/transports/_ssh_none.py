"""Which authentication methods an SSH server offers a user, asked without paramiko: one key exchange, then an
SSH "none" authentication request (RFC 4252 5.2), whose refusal lists the methods.

The question needs no login, and importing paramiko costs 0.08 s of a network-only SSH scan. This client uses
the standard library, and imports only the `cryptography` pieces the negotiated algorithms need, when they are
needed. A server offering nothing it can drive raises Unsupported before our KEXINIT is sent, so the caller can
ask paramiko on a fresh connection. The host key's signature is not verified (nor is known_hosts consulted):
nothing is at stake but the user name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
import time
from collections.abc import Callable
from typing import Any

from auditor.transports._ssh_wire import (
    KEY_OF_ALGORITHM,
    MSG_KEXINIT,
    PROBE_BANNER,
    ProbeError,
    _field,
    _frame,
    _lists,
    _mpint,
    _Reader,
    _start,
    _string,
)

CHACHA20 = "chacha20-poly1305@openssh.com"
# paramiko's order of preference (AuditTransport with legacy on), then what paramiko lacks: whenever paramiko
# could connect, both clients agree on the same algorithms, so the answer does not depend on which one asked.
KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp521", "ecdh-sha2-nistp384",
       "ecdh-sha2-nistp256", "diffie-hellman-group16-sha512", "diffie-hellman-group-exchange-sha256",
       "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1",
       "diffie-hellman-group1-sha1", "diffie-hellman-group18-sha512")
HOST_KEYS = ("ssh-ed25519", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256", "rsa-sha2-512",
             "rsa-sha2-256", "ssh-rsa", "ssh-dss")
CIPHERS = {  # name: key size, IV size, block size
    "aes256-gcm@openssh.com": (32, 12, 16), "aes256-ctr": (32, 16, 16), CHACHA20: (64, 0, 8),
    "aes128-gcm@openssh.com": (16, 12, 16), "aes192-ctr": (24, 16, 16), "aes128-ctr": (16, 16, 16),
    "aes256-cbc": (32, 16, 16), "aes192-cbc": (24, 16, 16), "aes128-cbc": (16, 16, 16), "3des-cbc": (24, 8, 8)}
MACS = {  # name: hash, bytes of the MAC sent
    "hmac-sha2-512-etm@openssh.com": ("sha512", 64), "hmac-sha2-256-etm@openssh.com": ("sha256", 32),
    "hmac-sha2-512": ("sha512", 64), "hmac-sha2-256": ("sha256", 32), "hmac-sha1": ("sha1", 20),
    "hmac-sha1-96": ("sha1", 12), "hmac-md5": ("md5", 16), "hmac-md5-96": ("md5", 12),
    "hmac-sha1-etm@openssh.com": ("sha1", 20), "hmac-sha1-96-etm@openssh.com": ("sha1", 12),
    "hmac-md5-etm@openssh.com": ("md5", 16), "hmac-md5-96-etm@openssh.com": ("md5", 12)}
_ECDH = {"ecdh-sha2-nistp256": "SECP256R1", "ecdh-sha2-nistp384": "SECP384R1", "ecdh-sha2-nistp521": "SECP521R1"}
_GEX_SIZES = (2048, 3072, 8192)  # min, preferred, max bits of the group asked for (RFC 4419 3)

_DISCONNECT, _IGNORE, _UNIMPLEMENTED, _DEBUG, _SERVICE_REQUEST, _SERVICE_ACCEPT, _EXT_INFO = 1, 2, 3, 4, 5, 6, 7
_NEWKEYS, _KEX_INIT, _KEX_REPLY, _GEX_GROUP, _GEX_INIT, _GEX_REPLY, _GEX_REQUEST = 21, 30, 31, 31, 32, 33, 34
_USERAUTH_REQUEST, _USERAUTH_FAILURE, _USERAUTH_SUCCESS, _USERAUTH_BANNER = 50, 51, 52, 53
_MAX_PACKET = 35000
_MAX_MESSAGES = 32  # messages skipped while waiting for one; a server sending more is not answering


class Unsupported(ProbeError):
    """The server offers no key exchange, cipher or MAC this client can drive (the caller falls back to paramiko)."""


def ask_auth_methods(sock: Any, user: str, timeout: float, host_key_algorithm: str | None = None,
                     started: tuple[str, bytes, _Reader] | None = None) -> dict[str, Any]:
    """The methods the server offers `user` in answer to a "none" request, as paramiko reports them (the tests
    compare the two), plus what the wire showed: the host key blob, banner and KEXINIT.

    host_key_algorithm: the one to offer (default: the best the server offers). started: what `_start` already
    read on `sock`. Raises Unsupported, having sent nothing after our identification string, when the server
    offers nothing this client can drive; ProbeError for anything else that goes wrong, timeouts included.
    """
    try:
        return _ask(sock, user, timeout, host_key_algorithm, started)
    except OSError as exc:
        raise ProbeError(f"the connection failed during the authentication probe ({exc.strerror or exc})") from exc


def _ask(sock: Any, user: str, timeout: float, host_key_algorithm: str | None,
         started: tuple[str, bytes, _Reader] | None) -> dict[str, Any]:
    banner, server_kexinit, reader = started or _start(sock, timeout)
    reader._deadline = min(reader._deadline, time.monotonic() + timeout)  # `started` may have left us more
    lists = _lists(server_kexinit)
    agreed = _agree(lists, host_key_algorithm)
    kex, host_key, cipher_out, cipher_in = agreed["kex"], agreed["host_key"], agreed["cipher_out"], agreed["cipher_in"]
    # One name per list leaves the server no choice; an AEAD cipher ignores the MAC, which may be any it offers.
    ours = bytes([MSG_KEXINIT]) + os.urandom(16) + b"".join(_string(name.encode()) for name in (
        kex, host_key, cipher_out, cipher_in, agreed["mac_out"] or (lists[4] or ["none"])[0],
        agreed["mac_in"] or (lists[5] or ["none"])[0], "none", "none", "", "")) + b"\0" + bytes(4)
    link = _Link(sock, reader)
    secret, exchange_hash, key_blob = _exchange(link, kex, banner.encode(), server_kexinit, ours)
    key_type = _field(key_blob, 0).decode("ascii", "replace")
    if key_type != KEY_OF_ALGORITHM.get(host_key, host_key):
        raise ProbeError(f"the server sent a {key_type[:40]!r} key for host-key algorithm {host_key}")

    def derive(letter: bytes, size: int) -> bytes:  # RFC 4253 7.2; the session id is this first exchange's hash
        key = hashlib.new(_kex_hash(kex), secret + exchange_hash + letter + exchange_hash).digest()
        while len(key) < size:
            key += hashlib.new(_kex_hash(kex), secret + exchange_hash + key).digest()
        return key[:size]

    # Our NEWKEYS, then the service request under the new keys, at once: the server's NEWKEYS need not be waited for.
    wire = link.seal(bytes([_NEWKEYS]))
    link.outgoing = _Keys(cipher_out, agreed["mac_out"], derive, b"ACE", decrypt=False)
    link.write(wire + link.seal(bytes([_SERVICE_REQUEST]) + _string(b"ssh-userauth")))
    link.expect(_NEWKEYS)
    link.incoming = _Keys(cipher_in, agreed["mac_in"], derive, b"BDF", decrypt=True)
    asked = False
    for _ in range(_MAX_MESSAGES):
        payload = link.read()
        if payload[0] == _SERVICE_ACCEPT and not asked:
            # Sent with the request, this would be answered 40 ms late: sshd's answer would wait (Nagle) for our
            # acknowledgement of its SERVICE_ACCEPT, which the kernel delays while we have nothing to send.
            link.write(link.seal(bytes([_USERAUTH_REQUEST]) + _string(user.encode()) + _string(b"ssh-connection")
                                 + _string(b"none")))
            asked = True
        elif asked and payload[0] in (_USERAUTH_FAILURE, _USERAUTH_SUCCESS):
            failed = payload[0] == _USERAUTH_FAILURE
            methods = _field(payload, 1).decode("utf-8", "replace").split(",") if failed else []
            fingerprint = base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")
            return {"user": user, "methods": [m for m in methods if m], "none_accepted": not failed,
                    "host_key": f"{key_type} SHA256:{fingerprint}",
                    "host_key_base64": base64.b64encode(key_blob).decode(), "host_key_algorithm": host_key,
                    "banner": banner, "kexinit_base64": base64.b64encode(server_kexinit).decode(),
                    "algorithms": agreed}
        elif payload[0] not in (_EXT_INFO, _USERAUTH_BANNER):
            raise ProbeError(f"expected the answer to the \"none\" request, the server sent message {payload[0]}")
    raise ProbeError(f"the server sent {_MAX_MESSAGES} messages without answering the \"none\" request")


def _agree(lists: list[list[str]], host_key_algorithm: str | None) -> dict[str, str]:
    """The algorithms to use (named as paramiko's agreed() names them); Unsupported when something is missing."""
    kex_offered, keys_offered, ciphers_out, ciphers_in, macs_out, macs_in, zip_out, zip_in = lists

    def pick(ours: Any, offered: list[str]) -> str:
        return next((name for name in ours if name in offered), "")

    plain_keys = [name for name in keys_offered if "-cert-" not in name]  # a certificate's fingerprint is another
    agreed = {"kex": pick(KEX, kex_offered), "host_key": pick((host_key_algorithm,) if host_key_algorithm
                                                              else HOST_KEYS, plain_keys),
              "cipher_out": pick(CIPHERS, ciphers_out), "cipher_in": pick(CIPHERS, ciphers_in),
              "mac_out": pick(MACS, macs_out), "mac_in": pick(MACS, macs_in)}
    missing = [f"{what} ({', '.join(offered)[:300]})" for what, name, offered in (
        ("key exchange", agreed["kex"], kex_offered), ("host-key algorithm", agreed["host_key"], keys_offered),
        ("cipher", agreed["cipher_out"] and agreed["cipher_in"], ciphers_out + ciphers_in),
        ("MAC", (agreed["mac_out"] or _aead(agreed["cipher_out"])) and (agreed["mac_in"] or _aead(agreed["cipher_in"])),
         macs_out + macs_in),
        ("compression", "none" in zip_out and "none" in zip_in, zip_out + zip_in)) if not name]
    if missing:
        raise Unsupported(f"the server offers no {'; no '.join(missing)} this client can drive")
    return agreed


def _aead(cipher: str) -> bool:
    return cipher == CHACHA20 or cipher.endswith("-gcm@openssh.com")


def _kex_hash(kex: str) -> str:
    if kex.endswith("sha1"):
        return "sha1"
    return {"ecdh-sha2-nistp384": "sha384", "ecdh-sha2-nistp521": "sha512"}.get(
        kex, "sha512" if kex.endswith("sha512") else "sha256")


def _exchange(link: _Link, kex: str, v_s: bytes, i_s: bytes, i_c: bytes) -> tuple[bytes, bytes, bytes]:
    """Our KEXINIT and the key exchange (RFC 4253 8, RFC 4419, RFC 5656, RFC 8731): (K as mpint, H, host key)."""
    hash_name, wire = _kex_hash(kex), link.seal(i_c)  # our KEXINIT goes with our first key-exchange message
    if kex in _ECDH or kex.startswith("curve25519-sha256"):
        ours, agree = _ecdh(kex)
        link.write(wire + link.seal(bytes([_KEX_INIT]) + _string(ours)))
        reply = link.expect(_KEX_REPLY)
        key_blob = _field(reply, 1)
        theirs = _field(reply, 5 + len(key_blob))
        try:
            shared = int.from_bytes(agree(theirs), "big")
        except ValueError as exc:  # not a point on the curve, or a weak one
            raise ProbeError(f"the server's key-exchange value is invalid ({exc})") from None
        fields = _string(ours) + _string(theirs)
    else:
        prime, generator, fields, init, answer = _PRIMES.get(kex.split("-")[2], 0), 2, b"", _KEX_INIT, _KEX_REPLY
        if kex.startswith("diffie-hellman-group-exchange"):
            link.write(wire + link.seal(bytes([_GEX_REQUEST]) + struct.pack(">III", *_GEX_SIZES)))
            group, wire = link.expect(_GEX_GROUP), b""
            prime_raw = _field(group, 1)
            prime = int.from_bytes(prime_raw, "big")
            generator = int.from_bytes(_field(group, 5 + len(prime_raw)), "big")
            if not 1024 <= prime.bit_length() <= 8192 or not 1 < generator < prime - 1:
                raise ProbeError(f"the server offered a {prime.bit_length()}-bit group for the key exchange")
            fields = struct.pack(">III", *_GEX_SIZES) + _mpint(prime) + _mpint(generator)
            init, answer = _GEX_INIT, _GEX_REPLY
        # A private exponent of twice the hash's bits gives the exchange the strength of its hash.
        bits = 2 * 8 * hashlib.new(hash_name).digest_size
        private = secrets.randbits(bits) | 1 << (bits - 1)
        ours_value = pow(generator, private, prime)
        link.write(wire + link.seal(bytes([init]) + _mpint(ours_value)))
        reply = link.expect(answer)
        key_blob = _field(reply, 1)
        theirs_value = int.from_bytes(_field(reply, 5 + len(key_blob)), "big")
        if not 1 < theirs_value < prime - 1:
            raise ProbeError("the server's Diffie-Hellman value is out of range")
        shared = pow(theirs_value, private, prime)
        fields += _mpint(ours_value) + _mpint(theirs_value)
    secret = _mpint(shared)
    exchange_hash = hashlib.new(hash_name, _string(PROBE_BANNER.rstrip(b"\r\n")) + _string(v_s) + _string(i_c)
                                + _string(i_s) + _string(key_blob) + fields + secret).digest()
    return secret, exchange_hash, key_blob


def _ecdh(kex: str) -> tuple[bytes, Any]:
    """Our public value, and the function giving the shared secret from the server's."""
    if kex in _ECDH:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        curve = getattr(ec, _ECDH[kex])()
        private = ec.generate_private_key(curve)
        return private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint), \
            lambda theirs: private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(curve, theirs))
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    x25519 = X25519PrivateKey.generate()
    return x25519.public_key().public_bytes_raw(), \
        lambda theirs: x25519.exchange(X25519PublicKey.from_public_bytes(theirs))


class _Link:
    """Packets both ways, numbered from the first (the server's KEXINIT, which `_start` read, was its 0)."""

    def __init__(self, sock: Any, reader: _Reader) -> None:
        self._send, self._reader = getattr(sock, "sendall", None) or sock.send, reader
        self.sent, self.received = 0, 1
        self.outgoing: _Keys | None = None
        self.incoming: _Keys | None = None

    def seal(self, payload: bytes) -> bytes:
        wire = self.outgoing.seal(payload, self.sent) if self.outgoing else _frame(payload)
        self.sent += 1
        return wire

    def write(self, wire: bytes) -> None:
        self._send(wire)

    def read(self) -> bytes:
        """The next message that is not IGNORE, UNIMPLEMENTED or DEBUG; DISCONNECT raises with its reason."""
        for _ in range(_MAX_MESSAGES):
            payload = self.incoming.open(self._reader, self.received) if self.incoming else self._reader.packet()
            self.received += 1
            if not payload:
                raise ProbeError("the server sent an empty packet")
            if payload[0] == _DISCONNECT:
                reason = _field(payload, 5)[:120].decode("utf-8", "replace")
                raise ProbeError(f"the server disconnected during the authentication probe: {reason}")
            if payload[0] not in (_IGNORE, _UNIMPLEMENTED, _DEBUG):
                return payload
        raise ProbeError(f"the server sent {_MAX_MESSAGES} IGNORE or DEBUG messages in a row")

    def expect(self, wanted: int) -> bytes:
        payload = self.read()
        if payload[0] != wanted:
            raise ProbeError(f"expected message {wanted}, the server sent message {payload[0]}")
        return payload


class _Keys:
    """One direction's cipher and MAC after NEWKEYS: `seal` our packets, `open` the server's."""

    def __init__(self, cipher: str, mac: str, derive: Callable[[bytes, int], bytes], letters: bytes,
                 decrypt: bool) -> None:
        key_size, iv_size, self.block = CIPHERS[cipher]
        self.cipher, self.key, iv = cipher, derive(letters[1:2], key_size), derive(letters[:1], iv_size)
        self.aead = _aead(cipher)
        self.etm = not self.aead and mac.endswith("-etm@openssh.com")
        self.mac_hash, self.mac_size = ("", 16) if self.aead else MACS[mac]
        self.mac_key = b"" if self.aead else derive(letters[2:], hashlib.new(self.mac_hash).digest_size)
        self.gcm: Any = None
        self.fixed, self.counter = iv[:4], int.from_bytes(iv[4:], "big")  # AES-GCM's nonce (RFC 5647 7.1)
        self.stream: Any = None
        if cipher.endswith("-gcm@openssh.com"):
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self.gcm = AESGCM(self.key)
        elif cipher != CHACHA20:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

            if cipher == "3des-cbc":
                from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

                engine: Any = Cipher(TripleDES(self.key), modes.CBC(iv))
            else:
                engine = Cipher(algorithms.AES(self.key), modes.CTR(iv) if "-ctr" in cipher else modes.CBC(iv))
            self.stream = engine.decryptor() if decrypt else engine.encryptor()

    def seal(self, payload: bytes, number: int) -> bytes:
        # The length is left out of the padded blocks when it goes in the clear or alone (AEAD, EtM).
        clear_length = 4 if self.aead or self.etm else 0
        padding = self.block - (len(payload) + 5 - clear_length) % self.block
        padding += self.block if padding < 4 else 0
        packet = struct.pack(">IB", len(payload) + padding + 1, padding) + payload + os.urandom(padding)
        if self.cipher == CHACHA20:
            sealed = self._chacha(32, 0, number, packet[:4]) + self._chacha(0, 1, number, packet[4:])
            return sealed + self._poly(number, sealed)
        if self.gcm is not None:
            return packet[:4] + bytes(self.gcm.encrypt(self._nonce(), packet[4:], packet[:4]))
        if self.etm:
            sealed = packet[:4] + self.stream.update(packet[4:])
            return bytes(sealed) + self._mac(number, sealed)
        return bytes(self.stream.update(packet)) + self._mac(number, packet)

    def open(self, reader: _Reader, number: int) -> bytes:
        head = reader.exact(4 if self.aead or self.etm else self.block)
        if self.cipher == CHACHA20:
            first = self._chacha(32, 0, number, head)
        else:
            first = head if self.aead or self.etm else bytes(self.stream.update(head))
        (length,) = struct.unpack(">I", first[:4])
        if not 5 <= length <= _MAX_PACKET or (length if self.aead or self.etm else length + 4) % self.block:
            raise ProbeError(f"implausible encrypted packet from the server (length {length})")
        rest = reader.exact(length + 4 - len(head) + self.mac_size)
        body, tag = rest[: len(rest) - self.mac_size], rest[len(rest) - self.mac_size:]
        if self.cipher == CHACHA20:
            intact = hmac.compare_digest(self._poly(number, head + body), tag)
            plain = self._chacha(0, 1, number, body) if intact else b""
        elif self.gcm is not None:
            from cryptography.exceptions import InvalidTag

            try:
                plain, intact = self.gcm.decrypt(self._nonce(), body + tag, head), True
            except InvalidTag:
                plain, intact = b"", False
        elif self.etm:
            intact = hmac.compare_digest(self._mac(number, head + body), tag)
            plain = bytes(self.stream.update(body))
        else:
            plain = first[4:] + bytes(self.stream.update(body))
            intact = hmac.compare_digest(self._mac(number, first[:4] + plain), tag)
        if not intact:
            raise ProbeError(f"packet {number} from the server: integrity check failed")
        if plain[0] >= length:
            raise ProbeError(f"implausible encrypted packet from the server (padding {plain[0]} of {length})")
        return plain[1: length - plain[0]]

    def _mac(self, number: int, data: bytes) -> bytes:
        return hmac.new(self.mac_key, struct.pack(">I", number) + data, self.mac_hash).digest()[: self.mac_size]

    def _nonce(self) -> bytes:  # the invocation counter moves on with each packet
        nonce = self.fixed + self.counter.to_bytes(8, "big")
        self.counter = (self.counter + 1) % 2**64
        return nonce

    def _chacha(self, key_at: int, block: int, number: int, data: bytes) -> bytes:
        """ChaCha20 under the first (0) or second (32) half of the key; the sequence number is the nonce."""
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

        # cryptography's 16-byte nonce is the 64-bit block counter (little-endian) then the 64-bit nonce.
        nonce = block.to_bytes(8, "little") + number.to_bytes(8, "big")
        return bytes(Cipher(algorithms.ChaCha20(self.key[key_at: key_at + 32], nonce), None).encryptor().update(data))

    def _poly(self, number: int, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.poly1305 import Poly1305

        return bytes(Poly1305.generate_tag(self._chacha(0, 0, number, bytes(32)), data))


def _prime(*lines: str) -> int:
    return int("".join(lines), 16)


# Oakley group 2 (RFC 2409 6.2, "group1" in SSH) and the MODP groups 14, 16 and 18 of RFC 3526; the generator is 2.
_PRIMES = {
    "group1": _prime(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A",
        "431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F2411",
        "7C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF"),
    "group14": _prime(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A",
        "431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F2411",
        "7C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED5",
        "29077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
        "DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF"),
    "group16": _prime(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A",
        "431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F2411",
        "7C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED5",
        "29077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
        "DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DB",
        "EF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D8760273",
        "3EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A72",
        "3C12A787E6D788719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6",
        "287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA993B4EA988D8F",
        "DDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF"),
    "group18": _prime(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A",
        "431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F2411",
        "7C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED5",
        "29077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
        "DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DB",
        "EF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D8760273",
        "3EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A72",
        "3C12A787E6D788719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6",
        "287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA993B4EA988D8F",
        "DDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F",
        "413001AEB06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1BDB7F1447E6CC254B332051512BD7AF426FB8",
        "F401378CD2BF5983CA01C64B92ECF032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E59E7C97FBEC7E8F3",
        "23A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AACC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5",
        "DA76F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468043E8F663F4860EE12BF2D5B0B7474D6E694F91E",
        "6DBE115974A3926F12FEE5E438777CB6A932DF8CD8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED2576F6936BA424663AAB",
        "639C5AE4F5683423B4742BF1C978238F16CBE39D652DE3FDB8BEFC848AD922222E04A4037C0713EB57A81A23F0C73473FC646CEA306B",
        "4BCBC8862F8385DDFA9D4B7FA2C087E879683303ED5BDD3A062B3CF5B3A278A66D2A13F83F44F82DDF310EE074AB6A364597E899A025",
        "5DC164F31CC50846851DF9AB48195DED7EA1B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F924009438B481C6CD7889A002E",
        "D5EE382BC9190DA6FC026E479558E4475677E9AA9E3050E2765694DFC81F56E880B96E7160C980DD98EDD3DFFFFFFFFFFFFFFFFF"),
}
