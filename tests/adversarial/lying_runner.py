"""A lying target's batch runner: sshd runs it as the ForceCommand, in place of auditor's runner.

    ForceCommand /usr/bin/python3 .../lying_runner.py MODE

It speaks the runner's protocol (auditor/transports/_ssh_runner.py: the bootstrap line, the hello, one JSON
batch a line, framed answers) and lies in one way per MODE:

    escapes   a Linux host whose every word carries terminal escapes: its os-release name sets the window title,
              clears the screen, colours and links; every other command fails, saying the same on stderr
    garbage   its system detection (`uname`) answers a line that names no platform; everything else fails
    hang      answers its system detection truthfully, then never answers anything else

Stdlib only: it runs under the system's python3, as a target's own program would.
"""

from __future__ import annotations

import json
import os
import sys

HELLO = b"auditor-runner-ready\n"
MODE = sys.argv[1] if len(sys.argv) > 1 else "escapes"
OUT = sys.stdout.buffer
# A window title, clear screen + home, a 256-colour foreground, an OSC 8 hyperlink, a bell and a C1 CSI.
ESCAPES = ("\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[H\x1b[38;5;201mEVIL-COLOUR\x1b[0m"
           "\x1b]8;;https://evil.example/\x1b\\EVIL-LINK\x1b]8;;\x1b\\\x07\u009b31m")
UNAME = {"escapes": "Linux lying-host 6.1.0 x86_64\n", "garbage": ESCAPES + " nonsense from a toaster\n",
         "hang": "Linux lying-host 6.1.0 x86_64\n"}[MODE]
OS_RELEASE = f'ID=debian\nVERSION_ID=12\nPRETTY_NAME="{ESCAPES} Debian"\n'.encode()


def emit(token: str, index: int, status: int, out: bytes, err: bytes = b"") -> None:
    OUT.write(f"{token} {index} {status} {len(out)} {len(err)}\n".encode() + out + err)


def answer(item: list[object]) -> tuple[int, bytes, bytes] | None:
    """(status, stdout, stderr), or None: no answer ever."""
    if len(item) == 2:  # a file read
        if MODE != "garbage" and str(item[1]) in ("/etc/os-release", "/usr/lib/os-release"):
            return 0, OS_RELEASE, b""
        return (None if MODE == "hang" else (1, b"", b""))
    argv = [str(a) for a in item[3]]  # type: ignore[attr-defined]
    if argv[:1] == ["uname"]:
        return 0, UNAME.encode(), b""
    if argv[:2] == ["id", "-u"]:
        return 0, b"0\n", b""
    if MODE == "hang":
        return None
    return 1, ESCAPES.encode(), (ESCAPES + "\n").encode()


def main() -> None:
    sys.stdin.buffer.readline()  # the bootstrap: auditor's runner, which this target does not run
    OUT.write(HELLO)
    OUT.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        silent = False
        for item in request["items"]:
            said = answer(item)
            if said is None:
                silent = True
                continue
            emit(request["token"], int(item[0]), *said)
        OUT.flush()
        if silent:  # the lie: it hangs, as a host whose every command hangs would, until the scanner hangs up
            sys.stdin.buffer.read()
            return
        OUT.write(f"{request['token']} end\n".encode())
        OUT.flush()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, ConnectionResetError):
        os._exit(0)
