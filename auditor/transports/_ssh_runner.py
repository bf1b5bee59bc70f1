"""The batch runner that runs ON THE TARGET when it has python3: one process per SSH connection.

The channel's command (LAUNCH) starts `python3 -I -S -c 'import sys;exec(sys.stdin.buffer.readline())'`,
so the only text a login shell ever sees is that constant; the runner itself (SCRIPT) is the first line on stdin, and
each batch after it is one JSON line:

    {"token": T, "sudo": bool, "items": [[index, timeout, sudo, [argv...]] | [index, path], ...]}

The runner starts each command directly (argv to execvp: no shell, so no target data is interpreted), up
to PARALLEL at a time, each in its own session so a timeout kills the command's whole process group. It
caps each stream at LIMIT bytes (a command that floods is killed, as `head -c` would), reads files itself,
and writes every result, as soon as it is done, in the framing _ssh_batch reads:

    <token> <index> <status> <stdout bytes> <stderr bytes>\\n<stdout><stderr>

then `<token> end`. Its very first line, before any batch, is HELLO.

No command outlives its batch or the channel (a command may ignore SIGTERM, fork, or never write again):
each runs in its own process group, and the groups are killed (TERM, then KILL after KILL_AFTER seconds)
  - when the batch ends (what a command left behind in its group goes too),
  - when the batch's time budget (the request's "seconds": what is left of the target's total_timeout) runs out,
  - when the channel closes or the SSH session dies: sshd then closes the runner's pipes (and the runner's
    parent, the session, may go). Between batches a thread reads stdin and sees its end at once; during a batch
    the runner polls its stdout for a vanished reader and checks its parent at least once a second, so nothing
    waits for a write to fail. (Stdin's end alone does not stop a batch: a client may send its last batch and
    close its side, as the tests do.)
Commands run as root through `sudo` are signalled through sudo, which passes TERM on; a KILL stops sudo only.
Compared with the POSIX-shell batch
(the fallback when python3 is missing) this costs one process per command instead of about five, and one
login shell per target instead of one per channel.
Stdlib only, Python 3.6+ (RHEL 8's platform python), so no f-strings with `=` and no walrus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from auditor.transports._ssh_batch import GRACE_SECONDS, LIMIT, Item
from auditor.transports.base import TIMED_OUT

PARALLEL = 4  # commands at once on one target, as many as the shell fallback's channels
HELLO = b"auditor-runner-ready\n"  # the runner's first line
# The system's interpreter by absolute path, not the first python3 on the login PATH: a pyenv shim or a
# virtualenv there can be slow (a shim costs ~80 ms per start) or not the system's. Single quotes outside,
# double inside: the same text in sh, bash, zsh, fish and csh login shells. Without one: exit 127.
INTERPRETERS = ("/usr/bin/python3", "/usr/libexec/platform-python", "/usr/local/bin/python3")


def launch(interpreters: Sequence[str]) -> str:
    """The channel's command: the first of `interpreters` that exists runs the bootstrap; none: exit 127."""
    return (f"/bin/sh -c 'for p in {' '.join(interpreters)}; do [ -x \"$p\" ] && exec \"$p\" -I -S -c "
            "\"import sys;exec(sys.stdin.buffer.readline())\"; done; exit 127'")


LAUNCH = launch(INTERPRETERS)

SCRIPT = r'''
import errno, os, select, signal, subprocess, sys, threading, time
try:
    from _json import make_scanner  # json's own C parser, without json's import of re: 5 ms of every start

    class Decoder(object):  # what make_scanner reads of a json.JSONDecoder
        strict, object_hook, object_pairs_hook, memo = True, None, None, {}
        parse_float, parse_int, parse_constant = float, int, float

    SCAN = make_scanner(Decoder())

    def loads(text):
        return SCAN(text, 0)[0]
except ImportError:
    from json import loads
try:
    import queue
except ImportError:
    import Queue as queue

LIMIT = __LIMIT
TIMED_OUT = __TIMED_OUT
PARALLEL = __PARALLEL
KILL_AFTER = 2.0
HELLO = __HELLO
IN, OUT = sys.stdin.buffer, sys.stdout.buffer
os.umask(0o077)
os.environ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" + (
    ":" + os.environ["PATH"] if os.environ.get("PATH") else "")
os.environ["LC_ALL"] = os.environ["LANG"] = "C"


def which(program):
    for folder in os.environ["PATH"].split(":"):
        if folder and os.access(os.path.join(folder, program), os.X_OK):
            return True
    return False


AS_ROOT = os.geteuid() == 0
HAS_SUDO = AS_ROOT or which("sudo")


def emit(token, index, status, out, err):
    OUT.write(("%s %d %d %d %d\n" % (token, index, status, len(out), len(err))).encode() + out + err)
    OUT.flush()


def read_file(path):
    """(status, data, error) with the shell batch's codes: 0 ok, 1 missing, 2 directory, 3 error, 4 special."""
    try:
        if os.path.isdir(path):
            return 2, b"", b""
        if not os.path.exists(path):  # a dangling symlink too, as `[ -e ]` says
            return 1, b"", b""
        if not os.path.isfile(path):
            return 4, b"", b""
        with open(path, "rb") as handle:
            return 0, handle.read(LIMIT), b""
    except OSError as exc:
        return 3, b"", ("%s: %s\n" % (path, exc.strerror or exc)).encode()


class Running:
    def __init__(self, index, argv, timeout):
        self.index = index
        self.out, self.err = bytearray(), bytearray()
        self.deadline = time.monotonic() + timeout
        self.killed = None  # why we killed it: "timeout" or "flood"
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.open = {self.proc.stdout.fileno(): self.out, self.proc.stderr.fileno(): self.err}

    def kill(self, why, sig):
        if self.killed is None:
            self.killed = why
        try:
            os.killpg(self.proc.pid, sig)
        except OSError:
            pass

    def status(self):
        code = self.proc.wait()
        if self.killed == "timeout":
            return TIMED_OUT
        return 128 - code if code < 0 else code


def start(item, sudo_wanted):
    index, timeout, sudo, argv = item
    if "/" not in argv[0] and not which(argv[0]):  # as a shell says it, without forking to find out
        return None, (127, b"", ("%s: command not found\n" % argv[0]).encode())
    if sudo and sudo_wanted and not AS_ROOT:
        if not HAS_SUDO:
            return None, (1, b"", b"sudo: not installed on the target; cannot run as root\n")
        argv = ["sudo", "-n", "--"] + list(argv)
    try:
        return Running(index, argv, timeout), None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None, (127, b"", ("%s: command not found\n" % argv[0]).encode())
        return None, (126, b"", ("%s: %s\n" % (argv[0], exc.strerror or exc)).encode())


PARENT = os.getppid()
LINES = queue.Queue()
GONE = select.poll()
GONE.register(OUT.fileno(), 0)  # POLLERR / POLLHUP are always reported: nobody reads what we would write
STARTED = []  # the process groups of the batch in hand


def watch_stdin():
    while True:
        line = IN.readline()
        if not line:
            LINES.put(None)
            return
        LINES.put(line)


def kill_groups(pids):
    """TERM every group, KILL what is left after KILL_AFTER seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.killpg(pid, sig)
                alive.append(pid)
            except OSError:
                pass
        if sig == signal.SIGKILL or not alive:
            return
        deadline = time.monotonic() + KILL_AFTER
        while time.monotonic() < deadline and alive:
            time.sleep(0.05)
            alive = [pid for pid in alive if group_alive(pid)]
        pids = alive


def group_alive(pid):
    try:
        os.waitpid(pid, os.WNOHANG)  # reap the leader, so that a zombie does not count as alive
    except OSError:
        pass
    try:
        os.killpg(pid, 0)
        return True
    except OSError:
        return False


def abandoned():
    return os.getppid() != PARENT or any(event & (select.POLLERR | select.POLLHUP) for _, event in GONE.poll(0))


def batch(request):
    token, items = request["token"], list(request["items"])
    ends = time.monotonic() + float(request.get("seconds", 1e9))
    running, by_fd, groups = [], {}, STARTED
    del groups[:]
    poller = select.poll()
    while items or running:
        if abandoned():
            kill_groups(groups)
            os._exit(0)
        while items and len(running) < PARALLEL:
            item = items.pop(0)
            if len(item) == 2:
                emit(token, item[0], *read_file(item[1]))
                continue
            if time.monotonic() >= ends:
                emit(token, item[0], TIMED_OUT, b"", b"not started: the batch's time budget ran out\n")
                continue
            job, done = start(item, request["sudo"])
            if job is None:
                emit(token, item[0], *done)
                continue
            job.deadline = min(job.deadline, ends)
            running.append(job)
            groups.append(job.proc.pid)
            for fd in job.open:
                by_fd[fd] = job
                poller.register(fd, select.POLLIN)
        if not running:
            continue
        # A job whose pipes are closed is waited for by polling its exit, so wake up soon for it.
        wait = 0.01 if any(not j.open for j in running) else min(j.deadline for j in running) - time.monotonic()
        for fd, _ in poller.poll(int(min(max(wait, 0.0), 1.0) * 1000) + 1):
            job = by_fd[fd]
            chunk = os.read(fd, 1 << 16)
            if chunk:
                buffer = job.open[fd]
                buffer += chunk[:LIMIT - len(buffer)]
                if len(buffer) >= LIMIT:  # one byte more than a fact may hold: the rest is not wanted
                    job.kill("flood", signal.SIGKILL)
                continue
            poller.unregister(fd)
            del by_fd[fd], job.open[fd]
        now = time.monotonic()
        for job in list(running):
            if now >= job.deadline:
                job.kill("timeout", signal.SIGTERM if now < job.deadline + KILL_AFTER else signal.SIGKILL)
            if job.open and now >= job.deadline + KILL_AFTER:
                for fd in list(job.open):  # a process that escaped its session still holds the pipes
                    poller.unregister(fd)
                    del by_fd[fd], job.open[fd]
            if not job.open and job.proc.poll() is not None:
                running.remove(job)
                job.proc.stdout.close()
                job.proc.stderr.close()
                emit(token, job.index, job.status(), bytes(job.out), bytes(job.err))
    kill_groups(groups)  # what a command left running in its group does not outlive the batch
    OUT.write(("%s end\n" % token).encode())
    OUT.flush()


OUT.write(HELLO)  # tells "the runner started" apart from "there is no usable python3"
OUT.flush()
watchdog = threading.Thread(target=watch_stdin)
watchdog.daemon = True
watchdog.start()
while not abandoned():
    try:
        line = LINES.get(timeout=1.0)
    except queue.Empty:
        continue
    if line is None:
        break
    try:
        batch(loads(line.decode()))
    except (IOError, OSError):  # stdout is gone (the channel closed): nothing we start may stay behind
        kill_groups(STARTED)
        os._exit(0)
'''.replace("__LIMIT", str(LIMIT)).replace("__TIMED_OUT", str(TIMED_OUT)).replace(
    "__PARALLEL", str(PARALLEL)).replace("__HELLO", repr(HELLO))


def bootstrap() -> bytes:
    """The first line on the runner channel's stdin: the runner's source, as one line of Python."""
    return f"exec({SCRIPT!r})\n".encode()


def request(items: Sequence[Item], token: str, sudo: bool, seconds: float = 1e9) -> bytes:
    """One batch as the JSON line the runner reads; `seconds`: the batch's time budget on the target."""
    encoded: list[list[object]] = []
    for item in items:
        if item.command is not None:
            command = item.command
            encoded.append([item.index, command.timeout, command.sudo, list(command.argv)])
        else:
            encoded.append([item.index, item.path])
    return (json.dumps({"token": token, "sudo": sudo, "seconds": round(max(seconds, 0.0), 3), "items": encoded},
                       separators=(",", ":")) + "\n").encode()


def seconds_for(timeouts: Sequence[float]) -> float:
    """How long the runner may take for a batch whose items' timeouts, longest first, are `timeouts`, at worst:
    every command at its timeout, PARALLEL at once."""
    return sum(timeouts[::PARALLEL]) + GRACE_SECONDS
