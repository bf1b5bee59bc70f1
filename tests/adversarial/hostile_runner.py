"""A hostile target's fake batch runner: sshd runs it as the ForceCommand, in place of auditor's runner.

    ForceCommand /usr/bin/python3 .../hostile_runner.py MODE

It speaks the runner's protocol (auditor/transports/_ssh_runner.py: the bootstrap line, the hello, one JSON
batch a line, framed answers) and lies in one way per MODE:

    flood       every command answers with its real output padded to the most bytes a frame may hold (so the
                system is still detected and every collector runs); files are read for real
    many-files  commands run for real, except `find`, which lists 300 made-up files in the folder it was asked
                about; each of those answers with the most bytes a frame may hold, and every missing file
                exists (so that a collector goes on to read what its listing named)
    random-find commands run for real, except `find`, which answers with 8000 random printable lines in the
                folder it was asked about (more "paths" still, split at spaces); each made-up file answers with
                64 KiB, and every missing file exists

Stdlib only: it runs under the system's python3, as a target's own program would.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

LIMIT = 8 * 1024 * 1024 + 1  # the largest answer a frame may announce (auditor/transports/_ssh_batch.LIMIT)
HELLO = b"auditor-runner-ready\n"
FAKE = "/var/hostile/"
FAKE_NAME = "hostile-"
MODE = sys.argv[1] if len(sys.argv) > 1 else "flood"
OUT = sys.stdout.buffer
FLOOD = (bytes(range(256)) * (LIMIT // 256 + 1))[:LIMIT]  # not UTF-8: the costliest text to keep


def emit(token: str, index: int, status: int, out: bytes, err: bytes = b"") -> None:
    OUT.write(f"{token} {index} {status} {len(out)} {len(err)}\n".encode() + out + err)


def listing(argv: list[str]) -> bytes:
    folder = next((a.rstrip("/") for a in argv[1:] if a.startswith("/")), "/etc")
    if MODE == "many-files":
        return "".join(f"{folder}/{FAKE_NAME}{i}.conf\n" for i in range(300)).encode()
    rng = random.Random(7)
    return "".join(f"{folder}/{FAKE_NAME}" + "".join(rng.choice("abcdefghij/._- ") for _ in range(rng.randint(1, 40)))
                   + "\n" for _ in range(8000)).encode()


def real(argv: list[str], timeout: float) -> tuple[int, bytes, bytes]:
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except OSError:
        return 127, b"", f"{argv[0]}: command not found\n".encode()
    except subprocess.TimeoutExpired:
        return 124, b"", b""
    return done.returncode, done.stdout[:LIMIT], done.stderr[:LIMIT]


def read(path: str) -> tuple[int, bytes, bytes]:
    if path.startswith(FAKE) or FAKE_NAME in path:
        return 0, FLOOD if MODE == "many-files" else b"B" * 65536, b""
    try:
        with open(path, "rb") as handle:
            return 0, handle.read(LIMIT), b""
    except IsADirectoryError:
        return 2, b"", b""
    except FileNotFoundError:
        return (0, b"# made up\n", b"") if MODE != "flood" else (1, b"", b"")
    except OSError as exc:
        return 3, b"", f"{path}: {exc.strerror}\n".encode()


def answer(item: list[object]) -> tuple[int, bytes, bytes]:
    if len(item) == 2:
        return read(str(item[1]))
    argv = [str(a) for a in item[3]]  # type: ignore[attr-defined]
    if argv[0] == "find" and MODE != "flood":
        return 0, listing(argv), b""
    status, out, err = real(argv, float(item[1]))  # type: ignore[arg-type]
    return (status, out + FLOOD[:LIMIT - len(out)], err) if MODE == "flood" else (status, out, err)


def main() -> None:
    sys.stdin.buffer.readline()  # the bootstrap: auditor's runner, which this target does not run
    OUT.write(HELLO)
    OUT.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        for item in request["items"]:
            emit(request["token"], int(item[0]), *answer(item))
        OUT.write(f"{request['token']} end\n".encode())
        OUT.flush()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, ConnectionResetError):
        os._exit(0)
