"""Requests/s for the `account` list (50 rows, out=xml) from 8 concurrent clients.

Why: panels, plugins and monitoring poll list functions constantly, so the read
path (frame -> dispatch -> SQL -> streamed XML) must stay cheap.  Two figures:
the same call repeated, as pollers send it (answered from the list cache until
the database changes), and every call different, so each reply is computed.  DESIGN.md
asks list replies to be rendered by streaming text, not by building an lxml
tree.  Target: >= 3,000 req/s on the 2-core dev machine.

    python bench/list_throughput.py [--seconds 5] [--clients 8] [--venv PATH]
"""


from _daemon import Daemon, bin_dir, call, load_options, report, run_clients

TARGET = 3000
ACCOUNTS = 50
LIST = [["func", "account"], ["out", "xml"]]


def main():
    args = load_options(__doc__)

    with Daemon(bin_dir(args.venv)) as daemon:
        with daemon.connect() as sock:
            for n in range(1, ACCOUNTS + 1):
                reply = call(sock, [["func", "account.edit"], ["email", f"user{n}@example.com"],
                                    ["name", f"User{n}"], ["sok", "ok"]])
                assert not reply.get("error"), reply
            body = call(sock, LIST)["body"]
            rows = body.count("<elem>")
            assert rows == ACCOUNTS, f"the list shows {rows} rows, expected {ACCOUNTS}"

        polled = run_clients(daemon, lambda client, n: LIST, clients=args.clients, seconds=args.seconds)
        fresh = run_clients(daemon, lambda client, n: LIST + [["nonce", f"{client}-{n}"]], clients=args.clients,
                            seconds=args.seconds)

    print(f"account list, {ACCOUNTS} rows, out=xml ({len(body):,} bytes/reply), "
          f"{args.clients} clients x {args.seconds:g} s")
    print("the same call polled (served from the list cache between changes):")
    report(polled, TARGET)
    print("every call different (an ignored nonce parameter): computed and rendered each time:")
    report(fresh, None)

if __name__ == "__main__":
    main()
