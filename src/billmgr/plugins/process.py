"""Running a handler's executable: input in, output out, within limits.

A handler that hangs or floods its output must not hold a worker for ever:
past its deadline, or once stdout passes the size limit, its whole process
group is killed.  Once the handler itself has exited, what it printed is
taken even if a child it left in the background still holds the pipe open.
"""

import os
import selectors
import signal
import subprocess
import time

STDERR_KEPT = 4096   # bytes of stderr kept for the log
TICK = 0.05          # seconds between checks that a quiet handler is still running


class Timeout(Exception):
    """The handler did not finish in time."""


class TooLarge(Exception):
    """The handler printed more than the limit."""


def run(argv, env, cwd, stdin, timeout, limit):
    """(exit status, stdout, the tail of stderr) of one run of ``argv`` (the executable and its arguments).

    Raises OSError when it cannot be started, Timeout or TooLarge after
    killing it.  A negative status is the signal that killed it.
    """
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=cwd, start_new_session=True)
    try:
        out, err = _exchange(proc, stdin, time.monotonic() + timeout, limit)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        raise
    finally:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            pipe.close()
    return proc.returncode, bytes(out), bytes(err)


def _exchange(proc, stdin, deadline, limit):
    out, err = bytearray(), bytearray()
    pending = memoryview(stdin)
    with selectors.DefaultSelector() as selector:
        if pending:
            os.set_blocking(proc.stdin.fileno(), False)
            selector.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        selector.register(proc.stdout, selectors.EVENT_READ, (out, limit))
        selector.register(proc.stderr, selectors.EVENT_READ, (err, None))
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout
            for key, _ in selector.select(min(remaining, TICK)):
                if key.data is None:
                    pending = _feed(selector, key, pending)
                else:
                    _read(selector, key)
            if proc.poll() is not None:
                for key in list(selector.get_map().values()):
                    if key.data is not None:
                        os.set_blocking(key.fd, False)
                        while _read(selector, key):
                            pass
                break
    try:
        proc.wait(max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        raise Timeout from None
    return out, err


def _feed(selector, key, pending):
    """Write what the pipe takes of ``pending``; the handler may not read it all."""
    try:
        pending = pending[os.write(key.fd, pending):]
    except BrokenPipeError:
        pending = pending[:0]
    if not pending:
        selector.unregister(key.fileobj)
        key.fileobj.close()
    return pending


def _read(selector, key):
    """Read one chunk into the key's buffer; False once nothing more is there.

    Stdout past its limit raises TooLarge; stderr keeps only its tail.
    """
    try:
        chunk = os.read(key.fd, 65536)
    except BlockingIOError:
        return False
    if not chunk:
        selector.unregister(key.fileobj)
        return False
    buffer, limit = key.data
    buffer += chunk
    if limit is None:
        del buffer[:-STDERR_KEPT]
    elif len(buffer) > limit:
        raise TooLarge
    return True
