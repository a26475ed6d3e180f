"""The nightly run over many services: wall time, peak RSS and the rate per service.

Why: the night's billing must finish in minutes at 100,000 services on one
host.  The services are written by SQL before the run (``store.sample``):
a third due for auto-renewal with the money for it, a third expired without
renewal (suspended), a third paid for weeks ahead with a statistics add-on
used over its included amount the day before (charged).  ``billmgrd nightly
--date DAY`` runs in a child process; its wall time and peak RSS are
measured, beside SQLite's durable-commit rate on the same disk in the same
run.  Afterwards every renewal and every metered day must be one charge,
every expired service suspended, and the ledger check clean (exit non-zero
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


def _tariff(db, name):
    """A tariff of 300.00 a month (its name says which services have it)."""
    tariff = db.execute("INSERT INTO pricelist (itemtype, project, name) SELECT id, 1, ? FROM itemtype "
                        "WHERE intname = 'vhost' RETURNING id", (name,)).fetchone()[0]
    db.execute("INSERT INTO pricelist_price (pricelist, period, currency, cost) VALUES (?, 1, 643, 30000)", (tariff,))
    return tariff


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
                tariffs = {kind: _tariff(db, kind) for kind in (sample.RENEW, sample.SUSPEND, sample.METERED)}
                db.execute("INSERT INTO pricelist (itemtype, project, parent, name, intname, addontype, billtype, "
                           "addonlimit, statperiod) SELECT itemtype, project, id, 'Traffic', 'traffic', 2, 3, 10, "
                           "'daily' FROM pricelist WHERE id = ?", (tariffs[sample.METERED],))
                db.execute("INSERT INTO pricelist_overage (pricelist, currency, cost) SELECT id, 643, 100 "
                           "FROM pricelist WHERE intname = 'traffic'")
            started = time.monotonic()
            kinds = sample.add_services_to(store, args.services, args.clients, tariffs, day, 10_000_000)
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
                metered = db.execute("SELECT count(*), coalesce(sum(amount), 0) FROM expense "
                                     "WHERE operation = 'statistic'").fetchone()
        finally:
            store.close()
        floor = sqlite_commits(root, 3.0)
    print(run.stdout.strip())
    print(f"nightly run over {args.services:,} services: {elapsed:.1f} s wall, peak RSS {peak_mb:,.0f} MB "
          f"(target < 60 s, < 500 MB)")
    print(f"  {elapsed / args.services * 1e6:,.0f} us per service")
    print(f"  SQLite floor (1-row INSERT+COMMIT, WAL, synchronous=FULL, same disk): {floor:,.0f} commits/s")
    overage = (sample.USAGE - 10) * 100          # 5 GB over the 10 included, 1.00 each
    if tuple(renewals) != (kinds["renew"], kinds["renew"]) or suspended != kinds["suspend"] or \
            tuple(metered) != (kinds["metered"], kinds["metered"] * overage):
        raise SystemExit(f"MISMATCH: renewals {tuple(renewals)}, suspended {suspended}, statistics {tuple(metered)}, "
                         f"expected {kinds}")
    if check.returncode:
        raise SystemExit(f"billmgrd check failed: {check.stdout}")
    print("  books: one charge per renewal and per metered day, every expired service suspended; "
          "billmgrd check ok")


if __name__ == "__main__":
    main()
