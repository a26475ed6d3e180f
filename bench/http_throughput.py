"""Requests/s for the `account` list (50 rows, out=json) over HTTP keep-alive
from 8 concurrent clients, beside the same list through the Unix socket.

Why: websites and integrations call /billmgr?authinfo=...&func=... all day;
the HTTP front must not be what limits them.  Each call carries authinfo, as
integrations send it.  Target: >= 1,500 req/s over HTTP on the 2-core dev
machine.

    python bench/http_throughput.py [--seconds 5] [--clients 8] [--venv PATH]
"""

import socket

from _daemon import Daemon, bin_dir, call, http_caller, load_options, report, run_clients

TARGET = 1500
ACCOUNTS = 50
ADMIN = ["authinfo", "bench:Bench-pass-1"]
LIST = [["func", "account"], ["out", "json"]]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    args = load_options(__doc__)
    port = free_port()
    with Daemon(bin_dir(args.venv), settings=f"HttpListen 127.0.0.1:{port}\n") as daemon:
        with daemon.connect() as sock:
            login, password = ADMIN[1].split(":")
            reply = call(sock, [["func", "employee.edit"], ["name", login], ["passwd", password],
                                 ["confirm", password], ["sok", "ok"]])
            assert not reply.get("error"), reply
            for n in range(1, ACCOUNTS + 1):
                reply = call(sock, [["func", "account.edit"], ["email", f"user{n}@example.com"],
                                    ["name", f"User{n}"], ["sok", "ok"]])
                assert not reply.get("error"), reply
            size = len(call(sock, LIST)["body"].encode())
        over_http = run_clients(daemon, lambda client, n: LIST + [ADMIN], clients=args.clients,
                                seconds=args.seconds, opener=http_caller(port))
        fresh_http = run_clients(daemon, lambda client, n: LIST + [ADMIN, ["nonce", f"{client}-{n}"]],
                                 clients=args.clients, seconds=args.seconds, opener=http_caller(port))
        over_unix = run_clients(daemon, lambda client, n: LIST, clients=args.clients, seconds=args.seconds)

    print(f"account list, {ACCOUNTS} rows, out=json ({size:,} bytes/reply), {args.clients} clients x "
          f"{args.seconds:g} s")
    print("over HTTP keep-alive, authinfo on every call, the same call polled (list cache):")
    report(over_http, TARGET)
    print("over HTTP, every call different (computed and rendered each time):")
    report(fresh_http, TARGET)
    print("through the Unix socket, for comparison:")
    report(over_unix, None)


if __name__ == "__main__":
    main()
