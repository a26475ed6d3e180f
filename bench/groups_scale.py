"""Seconds an `accountgroup.condition.edit` holds the writer at 1,000 and 100,000 clients, 8 automatic groups.

Why: changing a group's conditions re-evaluates every client, inside the
request's one write transaction, so every other write waits meanwhile (and
gives up with `busy` after the store's writer wait).  Target: under 1 s at
100,000 clients.  The clients are written straight into the database file by
SQL, which takes a moment where the API would take minutes.

For each size it times, through the daemon: a condition that puts half the
clients into group 1, then an edit of it that swaps them for the other half
(half leave, half join), while an `account.edit` waits for its turn; and the
`account.edit` of one client (placed in all 8 groups).  Membership counts
are checked against the database.

    python bench/groups_scale.py [--venv PATH] [--sizes 1000,100000]
"""

import argparse
import sqlite3
import threading
import time

from _daemon import Daemon, bin_dir, unix_caller

TARGET = 1.0
GROUPS = [  # (field, op, value) of groups 2..8; group 1 is the one timed
    ("status", "eq", "2"), ("verify_email", "eq", "1"), ("email", "contains", "7@"), ("project", "eq", "1"),
    ("name", "contains", "5"), ("attitude", "gt", "3"), ("registration_date", "lt", "2026-06-01"),
]


def fill(db_path, clients):
    """``clients`` accounts with varied fields, in one statement."""
    with sqlite3.connect(db_path) as db:
        db.execute("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO account (name, email, project, country, status, verify_email, nocalcstat, attitude,
                                 registration_date)
            SELECT 'Client ' || i, 'c' || i || '@example.com', 1, CASE i % 2 WHEN 0 THEN 643 ELSE 840 END,
                   2 + i % 2, i % 3 = 0, 0, i % 10, printf('2026-%02d-01 00:00:00', 1 + i % 12) FROM n""",
                   (clients,))


def ok(call, *pairs):
    reply = call([["func", pairs[0]], *[list(p.split("=", 1)) for p in pairs[1:]], ["out", "text"]])
    if reply.get("error"):
        raise SystemExit(f"{pairs}: {reply}")
    body = reply["body"]
    return body.decode() if isinstance(body, bytes) else body


def timed(call, *pairs):
    started = time.perf_counter()
    body = ok(call, *pairs)
    return time.perf_counter() - started, body


def members(db_path, group):
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT count(*) FROM account_accountgroup WHERE accountgroup = ?", (group,)).fetchone()[0]


def measure(bin_path, clients):
    with Daemon(bin_path) as daemon:
        fill(daemon.db, clients)
        call, other = unix_caller(daemon), unix_caller(daemon)
        for n in range(1, 9):
            ok(call, "accountgroup.edit", f"name=G{n}", "auto=on", "sok=ok")
        for n, (field, op, value) in enumerate(GROUPS, 2):
            ok(call, "accountgroup.condition.edit", f"plid={n}", f"field={field}", f"op={op}", f"value={value}",
               "sok=ok")
        first, body = timed(call, "accountgroup.condition.edit", "plid=1", "field=country", "op=eq", "value=643",
                            "sok=ok")
        condition = body.split("id=")[1].split()[0]
        assert members(daemon.db, 1) == clients // 2
        waited = {}

        def concurrent_write():
            time.sleep(0.05)   # let the condition edit take the writer first
            started = time.perf_counter()
            reply = other([["func", "account.edit"], ["elid", "1"], ["label", "concurrent"], ["sok", "ok"]])
            waited["seconds"] = time.perf_counter() - started
            waited["error"] = reply.get("error")
        writer = threading.Thread(target=concurrent_write)
        writer.start()
        swap, _ = timed(call, "accountgroup.condition.edit", "plid=1", f"elid={condition}", "field=country",
                        "op=ne", "value=643", "sok=ok")
        writer.join()
        assert members(daemon.db, 1) == clients - clients // 2
        one, _ = timed(call, "account.edit", "elid=2", "label=moved", "sok=ok")
    return first, swap, f"{waited['seconds']:.3f}" + (f" {waited['error']}" if waited["error"] else ""), one


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", help="use billmgrd from this venv (default: beside this python)")
    parser.add_argument("--sizes", default="1000,100000")
    args = parser.parse_args()
    print("accountgroup.condition.edit with 8 automatic groups (seconds, as the caller sees them)")
    print(f"{'clients':>9} {'half join':>10} {'swap halves':>12} {'account.edit meanwhile':>23} "
          f"{'one account.edit':>17}")
    for size in (int(s) for s in args.sizes.split(",")):
        first, swap, waited, one = measure(bin_dir(args.venv), size)
        verdict = f"   (target < {TARGET:g} s: {'MET' if max(first, swap) < TARGET else 'MISSED'})" \
            if size >= 100_000 else ""
        print(f"{size:>9,} {first:>10.3f} {swap:>12.3f} {waited:>23} {one:>17.4f}{verdict}")


if __name__ == "__main__":
    main()
