"""mgrctl [-m MODULE] [-o FORMAT] [-i [FUNC]] [-l | -u] [-R] [FUNC [key=value ...]] [-e 'key=$VAR' ...]

Turns the command line into one request frame for billmgrd and prints the
reply.  Exit status: 0 success, 1 the reply is an error, 2 usage error,
3 the daemon cannot be reached.
"""

import os
import sys

from .. import config as config_mod
from .connection import Connection, Unreachable

MODULE = "billmgr"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

USAGE = """\
usage: mgrctl [-m billmgr] [-o FORMAT] [-i [FUNC]] [-l | -u] [-R] [FUNC [key=value ...]] [-e 'key=$VAR' ...]

  -m MODULE     the panel to call; only billmgr is served here
  -o FORMAT     text (default), xml, devel, json, sjson, JSONdata, bjson, print
  -i [FUNC]     list the functions, or describe FUNC's parameters (lang=ru for Russian)
  -R            reload configuration and XML first (alone: just reload)
  -l / -u       suspend the panel (refuse all calls) / resume it
  -e 'k=$VAR'   take parameter k from environment variable VAR (keeps secrets off argv)
  key=value     a parameter; repeat a key to send several values

exit status: 0 ok, 1 error reply, 2 usage error, 3 daemon unreachable
"""


class Usage(Exception):
    """The command line is not one mgrctl understands (exit status 2)."""


class Invocation:
    """What the command line asks for."""

    def __init__(self):
        self.module = MODULE
        self.out = None
        self.info = False
        self.reload = False
        self.suspend = None     # True: -l, False: -u
        self.func = None
        self.params = []


def _from_env(spec):
    key, sep, ref = spec.partition("=")
    if not sep or not key:
        raise Usage(f"-e wants 'key=$VAR', got {spec!r}")
    name = ref[1:].strip("{}") if ref.startswith("$") else ref
    if name not in os.environ:
        raise Usage(f"-e {key}: environment variable {name!r} is not set")
    _check_text(os.environ[name], f"environment variable {name}")
    return key, os.environ[name]


def _check_text(text, what):
    """Refuse text the system could not decode as UTF-8 (Python keeps such bytes as lone surrogates)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        shown = repr(os.fsencode(text))[1:]
        raise Usage(f"{what} {shown} is not valid UTF-8") from None


def parse(argv):
    inv = Invocation()
    for arg in argv:
        _check_text(arg, "argument")
    args = iter(argv)
    for arg in args:
        if arg in ("-m", "-o", "-e"):
            value = next(args, None)
            if value is None:
                raise Usage(f"{arg} needs a value")
            if arg == "-m":
                inv.module = value
            elif arg == "-o":
                inv.out = value
            else:
                inv.params.append(_from_env(value))
        elif arg == "-i":
            inv.info = True
        elif arg == "-R":
            inv.reload = True
        elif arg in ("-l", "-u"):
            inv.suspend = arg == "-l"
        elif arg.startswith("-") and "=" not in arg:
            raise Usage(f"unknown option {arg}")
        elif "=" in arg:
            key, _, value = arg.partition("=")
            if not key:
                raise Usage(f"parameter without a name: {arg!r}")
            inv.params.append((key, value))
        elif inv.func is None:
            inv.func = arg
        else:
            raise Usage(f"unexpected argument {arg!r}: parameters are key=value")
    if inv.module != MODULE:
        raise Usage(f"unknown module {inv.module!r}: this mgrctl serves -m {MODULE}")
    if not (inv.func or inv.info or inv.reload or inv.suspend is not None):
        raise Usage("no function given")
    return inv


def _print(text, error=False):
    stream = sys.stderr if error else sys.stdout
    stream.write(text if text.endswith("\n") or not text else text + "\n")


def _show(reply, out, quiet=False):
    """Print a reply; an error document goes to stdout unless the output is text.

    Scripts that parse ``-o xml`` or json output read stdout whatever the
    exit status, so the error document must be there; a text error line is
    for people and goes to stderr.
    """
    error = bool(reply.get("error"))
    if error or not quiet:
        _print(reply.get("body", ""), error=error and out == "text")
    return not error


def run(inv, conn):
    out = inv.out or next((v for k, v in inv.params if k == "out"), "text")
    lang = next((v for k, v in inv.params if k == "lang"), "en")

    def control(op, quiet=False, **fields):
        return _show(conn.request({"op": op, "out": out, "lang": lang, **fields}), out, quiet)

    if inv.suspend is not None:
        return EXIT_OK if control("suspend" if inv.suspend else "resume") else EXIT_ERROR
    if inv.reload and not control("reload", quiet=bool(inv.func)):
        return EXIT_ERROR
    if inv.info:
        return EXIT_OK if control("describe", func=inv.func) else EXIT_ERROR
    if not inv.func:
        return EXIT_OK
    params = [("func", inv.func)] + inv.params
    if not any(k == "out" for k, _ in inv.params):
        params.append(("out", out))
    elif inv.out:
        params = [(k, inv.out if k == "out" else v) for k, v in params]
    error, stream, text = None, sys.stdout, ""
    for n, frame in enumerate(conn.frames({"op": "call", "params": params})):   # printed as it arrives
        if n and frame.get("error"):
            sys.stderr.write(f"\nmgrctl: the reply broke off ({frame['error']}); see the daemon's log\n")
        error = error or frame.get("error")
        if frame.get("body"):
            text = frame["body"]
            stream = sys.stderr if error and out == "text" else sys.stdout
            stream.write(text)
    if text and not text.endswith("\n"):
        stream.write("\n")
    return EXIT_ERROR if error else EXIT_OK


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        sys.stdout.write(USAGE)
        return EXIT_OK
    try:
        inv = parse(argv)
        config = config_mod.load()
    except (Usage, config_mod.ConfigError) as exc:
        hint = " (mgrctl --help shows the usage)" if isinstance(exc, Usage) else ""
        sys.stderr.write(f"mgrctl: {exc}{hint}\n")
        return EXIT_USAGE
    try:
        with Connection(config.socket) as conn:
            return run(inv, conn)
    except Unreachable as exc:
        sys.stderr.write(f"mgrctl: billmgrd is not reachable at {exc}; "
                         f"start it with 'billmgrd start'\n")
        return EXIT_UNREACHABLE
    except BrokenPipeError:
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
