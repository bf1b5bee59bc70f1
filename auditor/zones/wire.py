"""What travels through Redis: evidence records, compressed, each with its SHA-256, and a size cap."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from typing import Any

from auditor.files import sha256_bytes


class PayloadError(ValueError):
    """Shipped records are too large, damaged, or do not match their hashes."""


def pack(records: Sequence[bytes], cap: int) -> str:
    """Records (each exactly as the evidence store writes it) as one compressed text; refused above `cap`."""
    listed = [{"sha256": sha256_bytes(data), "record": data.decode("utf-8")} for data in records]
    text = base64.b64encode(zlib.compress(json.dumps(listed).encode(), 6)).decode("ascii")
    if len(text) > cap:
        raise PayloadError(f"the target's evidence is {len(text)} bytes compressed, over the broker cap of {cap} "
                           "bytes; raise --max-payload on the coordinator and the zone's workers")
    return text


def unpack(text: Any, cap: int) -> list[tuple[bytes, dict[str, Any]]]:
    """(record bytes, record) for each shipped record, every SHA-256 verified; anything else is refused."""
    if not isinstance(text, str) or len(text) > cap:
        raise PayloadError(f"refused: the shipped evidence is not text of at most {cap} bytes")
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.b64decode(text, validate=True), 64 * cap)
        if inflate.unconsumed_tail:
            raise PayloadError("refused: the shipped evidence expands beyond 64 times the cap")
        listed = json.loads(raw)
        out = []
        for item in listed:
            data = item["record"].encode("utf-8")
            if sha256_bytes(data) != item["sha256"]:
                raise PayloadError("refused: a shipped record does not match its SHA-256")
            record = json.loads(data)
            if not isinstance(record, dict) or not {"kind", "source", "target", "collected_at"} <= set(record):
                raise PayloadError("refused: a shipped record is not an evidence record")
            out.append((data, record))
        return out
    except (ValueError, KeyError, TypeError, zlib.error, AttributeError) as exc:
        if isinstance(exc, PayloadError):
            raise
        raise PayloadError(f"refused: the shipped evidence is damaged ({type(exc).__name__})") from None
