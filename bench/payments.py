"""payment.add + payment.setpaid pairs/s from 8 concurrent clients, beside SQLite's own durable-commit rate.

Why: crediting money is the write that matters most, and each pair is two
durable commits through the store's single writer (the payment, then its
credit: status, ledger posting, journal).  The bare floor is what SQLite
itself sustains for a one-row INSERT + COMMIT in WAL with synchronous=FULL on
the same disk in the same run; the ratio shows what billmgr costs on top.
At the end the sum of the balances must equal the money credited, and the
ledger check must pass (exit non-zero otherwise).

    python bench/payments.py [--seconds 5] [--clients 8] [--venv PATH]
"""

import json
import sqlite3
import time

from _daemon import Daemon, bin_dir, call, load_options, run_clients, unix_caller

AMOUNT, AMOUNT_MINOR = "12.34", 1234     # every payment, so the money credited is pairs x AMOUNT


def _ok(reply):
    if reply is None or reply.get("error"):
        raise RuntimeError(f"setup call failed: {reply}")
    return json.loads(reply["body"])["doc"]


def _setup(daemon, clients):
    """A RUB method without commission and one client per load process; returns (method, clients' ids)."""
    send = unix_caller(daemon)
    method = _ok(send([["func", "paymethod.edit"], ["name", "Bench"], ["sok", "ok"], ["out", "json"]]))["id"]["$"]
    accounts = [_ok(send([["func", "account.edit"], ["email", f"payer{i}@example.com"], ["sok", "ok"],
                          ["out", "json"]]))["id"]["$"] for i in range(clients)]
    return method, accounts


def pair_caller(daemon):
    """A call function that makes one payment and credits it, over one kept connection: one reply per pair."""
    sock = daemon.connect()

    def pay(params):
        added = call(sock, params)
        if added is None or added.get("error"):
            return added
        payment = json.loads(added["body"])["doc"]["payment_id"]["$"]
        return call(sock, [["func", "payment.setpaid"], ["elid", payment], ["out", "json"]])
    return pay


def sqlite_commits(directory, seconds):
    """One-row INSERT + COMMIT per loop, WAL, synchronous=FULL, on a fresh file in ``directory``: commits/s."""
    db = sqlite3.connect(directory / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)")
    done, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (amount) VALUES (?)", (done,))
        db.execute("COMMIT")
        done += 1
    elapsed = time.monotonic() - start
    db.close()
    return done / elapsed


def main():
    args = load_options(__doc__)
    with Daemon(bin_dir(args.venv)) as daemon:
        method, accounts = _setup(daemon, args.clients)

        def payment(client, n):
            return [["func", "payment.add"], ["plid", accounts[client]], ["paymethod", method],
                    ["amount", AMOUNT], ["sok", "ok"], ["out", "json"]]

        run = run_clients(daemon, payment, clients=args.clients, seconds=args.seconds, opener=pair_caller)
        with sqlite3.connect(daemon.db) as db:
            balances = db.execute("SELECT coalesce(sum(balance), 0) FROM subaccount").fetchone()[0]
            credited = db.execute("SELECT count(*), coalesce(sum(subaccountamount), 0) FROM payment "
                                  "WHERE status = 4").fetchone()
            journal = db.execute("SELECT coalesce(sum(amount), 0) FROM journal WHERE kind = 'payment'").fetchone()[0]
        check = _ok(unix_caller(daemon)([["func", "ledger.check"], ["out", "json"]]))
        floor = sqlite_commits(daemon.root, min(args.seconds, 3.0))

    rate = run.ok / run.elapsed
    print(f"payment.add + payment.setpaid pairs, {args.clients} clients x {args.seconds:g} s")
    print(f"  pairs: {run.ok} ok, {run.errors} errors in {run.elapsed:.2f} s")
    for who, cpu in (("daemon", run.daemon_cpu), ("clients", run.clients_cpu)):
        print(f"  {who} CPU: {cpu / run.elapsed:.0%} of one core, {cpu / max(run.ok, 1) * 1e6:,.0f} us per pair")
    print(f"  billmgr: {rate:,.0f} pairs/s = {2 * rate:,.0f} durable commits/s")
    print(f"  SQLite floor (1-row INSERT+COMMIT, WAL, synchronous=FULL, same disk): {floor:,.0f} commits/s")
    print(f"  ratio: pairs/s / SQLite commits/s = {rate / floor:.2f} "
          f"(billmgr commits / SQLite commits = {2 * rate / floor:.2f})")
    print(f"  credited: {credited[0]} payments, {credited[1] / 100:,.2f} RUB; balances sum {balances / 100:,.2f} RUB")
    if run.errors:
        raise SystemExit(f"error replies, first: {run.first_error}")
    expected = run.ok * AMOUNT_MINOR
    if not (credited == (run.ok, expected) and balances == expected and journal == expected):
        raise SystemExit(f"MISMATCH: {run.ok} pairs of {AMOUNT} should credit {expected}; payments {credited}, "
                         f"balances {balances}, journal {journal}")
    if check.get("elem"):
        raise SystemExit(f"ledger check failed: {check['elem']}")
    print("  books: balances = credited sum = journal; ledger check ok")


if __name__ == "__main__":
    main()
