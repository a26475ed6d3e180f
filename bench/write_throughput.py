"""Requests/s for `account.edit sok=ok` (a new client each time) from 8 concurrent clients.

Why: registrations, payments and orders are writes, and every one must be
durable before it is acknowledged (WAL, synchronous=FULL), all through the
store's single writer.  This shows what that one writer sustains.  Target:
>= 1,000 req/s on the 2-core dev machine.  At the end the accounts in the
database must equal the OK replies: nothing lost, nothing doubled.

    python bench/write_throughput.py [--seconds 5] [--clients 8] [--venv PATH]
"""

import sqlite3

from _daemon import Daemon, bin_dir, load_options, report, run_clients

TARGET = 1000


def new_account(client, n):
    return [["func", "account.edit"], ["email", f"w{client}-{n}@example.com"],
            ["name", f"Writer {client}-{n}"], ["sok", "ok"], ["out", "xml"]]


def main():
    args = load_options(__doc__)

    with Daemon(bin_dir(args.venv)) as daemon:
        run = run_clients(daemon, new_account, clients=args.clients, seconds=args.seconds)
        db = sqlite3.connect(daemon.db)
        accounts = db.execute("SELECT count(*) FROM account").fetchone()[0]
        # journal_mode is stored in the file; synchronous is per connection, so this
        # shows the default a fresh connection gets (the store sets FULL on its own).
        journal_mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
        db.close()

    print(f"account.edit sok=ok (new account each), {args.clients} clients x {args.seconds:g} s")
    print(f"  database file: journal_mode={journal_mode}; synchronous={synchronous} "
          f"({ {0: 'OFF', 1: 'NORMAL', 2: 'FULL', 3: 'EXTRA'}.get(synchronous, '?') }, "
          f"per connection, not stored in the file); accounts in it: {accounts}")
    report(run, TARGET)
    if accounts != run.ok:
        raise SystemExit(f"MISMATCH: {accounts} accounts in the database for {run.ok} OK replies")

if __name__ == "__main__":
    main()
