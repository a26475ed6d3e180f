"""The nightly run over many services: wall time, peak RSS and the rate per service.

Why: the night's billing must finish in minutes at 100,000 services on one
host.  The services are written by SQL before the run (``store.sample``):
a third due for auto-renewal with the money for it, a third expired without
renewal (suspended), a third paid for weeks ahead (looked at, nothing to
do).  ``billmgrd nightly --date DAY`` runs in a child process; its wall time
and peak RSS are measured, beside SQLite's durable-commit rate on the same
disk in the same run.  Afterwards every renewal must be one charge, every
expired service suspended, and the ledger check clean (exit non-zero
otherwise).  Target: under 60 s and 500 MB at 100,000 services.

    VENV/bin/python bench/nightly.py [--services 100000] [--clients 10000] [--venv VENV]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from payments import sqlite_commits

from billmgr.store import Store, sample


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--venv", default=str(Path(sys.executable).parent.parent))
    args = parser.parse_args()
    billmgrd = Path(args.venv) / "bin" / "billmgrd"
    day = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        conf = root / "billmgr.conf"
        conf.write_text(f"path data {root}\n")
        env = dict(os.environ, BILLMGR_CONF=str(conf))
        store = Store(root / "billmgr.db")
        try:
            with store.transaction(write=True) as db:
                tariff = db.execute("INSERT INTO pricelist (itemtype, project, name) SELECT id, 1, 'Bench' "
                                    "FROM itemtype WHERE intname = 'vhost' RETURNING id").fetchone()[0]
                db.execute("INSERT INTO pricelist_price (pricelist, period, currency, cost) VALUES (?, 1, 643, 30000)",
                           (tariff,))
            started = time.monotonic()
            kinds = sample.add_services_to(store, args.services, args.clients, tariff, day, 10_000_000)
            took = time.monotonic() - started
            print(f"{args.services:,} services of {args.clients:,} clients written in {took:.1f} s")
        finally:
            store.close()
        started = time.monotonic()
        run = subprocess.run([str(billmgrd), "nightly", "--date", day.isoformat()], env=env, capture_output=True,
                             text=True)
        elapsed = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if run.returncode:
            raise SystemExit(f"billmgrd nightly failed: {run.stderr}")
        check = subprocess.run([str(billmgrd), "check"], env=env, capture_output=True, text=True)
        store = Store(root / "billmgr.db")
        try:
            with store.transaction() as db:
                renewals = db.execute("SELECT count(*), count(DISTINCT item) FROM expense "
                                      "WHERE operation = 'prolong'").fetchone()
                suspended = db.execute("SELECT count(*) FROM item WHERE autosuspend = 1").fetchone()[0]
        finally:
            store.close()
        floor = sqlite_commits(root, 3.0)
    print(run.stdout.strip())
    print(f"nightly run over {args.services:,} services: {elapsed:.1f} s wall, peak RSS {peak_mb:,.0f} MB "
          f"(target < 60 s, < 500 MB)")
    print(f"  {elapsed / args.services * 1e6:,.0f} us per service; {kinds['renew'] / elapsed:,.0f} renewals/s")
    print(f"  SQLite floor (1-row INSERT+COMMIT, WAL, synchronous=FULL, same disk): {floor:,.0f} commits/s")
    if tuple(renewals) != (kinds["renew"], kinds["renew"]) or suspended != kinds["suspend"]:
        raise SystemExit(f"MISMATCH: renewals {tuple(renewals)}, suspended {suspended}, expected {kinds}")
    if check.returncode:
        raise SystemExit(f"billmgrd check failed: {check.stdout}")
    print("  books: one charge per renewal, every expired service suspended; billmgrd check ok")


if __name__ == "__main__":
    main()
