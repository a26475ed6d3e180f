"""Service orders/s (``v2.vds.order.param skipbasket=on``) from 8 concurrent clients, beside SQLite's own
durable-commit rate in the same run.

Why: an order is the busiest write of a shop -- the tariff and its add-ons
priced, the client's discount and tax rule looked up, the service and its
add-on items written, the expense charged through the ledger and paid from
the client's payments, the module's ``open`` command recorded -- all in one
durable commit through the store's single writer.  At the end every order
must be one service with one ``open`` charge and one command, the balances
must equal what was credited less what was charged, and the ledger check
must pass (exit non-zero otherwise).

    python bench/orders.py [--seconds 5] [--clients 8] [--venv PATH]
"""

import json
import sqlite3

from _daemon import Daemon, bin_dir, load_options, run_clients, unix_caller
from payments import sqlite_commits

PRICE_MINOR = 500 + 3 * 100 + 50    # the tariff, 3 extra GB of RAM, a backup: 8.50 RUB an order
TOP_UP = "1000000"


def _ok(reply):
    if reply is None or reply.get("error"):
        raise RuntimeError(f"setup call failed: {reply}")
    return json.loads(reply["body"])["doc"]


def _setup(daemon, clients):
    """A VDS tariff with two add-ons and one well-funded client per load process: (tariff, ram, backup, emails)."""
    send = unix_caller(daemon)

    def make(func, *pairs):
        return _ok(send([["func", func], *[list(p.split("=", 1)) for p in pairs], ["sok", "ok"],
                         ["out", "json"]]))

    tariff = make("pricelist.edit", "itemtype=vds", "name=Bench VDS", "monthly643=5")["id"]["$"]
    ram = make("pricelist.addon.edit", f"plid={tariff}", "name=RAM", "addontype=2", "billtype=2", "addonmin=1",
               "addonmax=64", "addonlimit=1", "monthly643=1")["id"]["$"]
    backup = make("pricelist.addon.edit", f"plid={tariff}", "name=Backup", "addontype=1", "billtype=2",
                  "monthly643=0.50")["id"]["$"]
    method = make("paymethod.edit", "name=Bench")["id"]["$"]
    emails = []
    for i in range(clients):
        email = f"buyer{i}@example.com"
        account = make("account.edit", f"email={email}")["id"]["$"]
        payment = make("payment.add", f"plid={account}", f"paymethod={method}", f"amount={TOP_UP}")["payment_id"]["$"]
        _ok(send([["func", "payment.setpaid"], ["elid", payment], ["out", "json"]]))
        emails.append(email)
    return tariff, ram, backup, emails


def main():
    args = load_options(__doc__)
    with Daemon(bin_dir(args.venv)) as daemon:
        tariff, ram, backup, emails = _setup(daemon, args.clients)

        def order(client, n):
            return [["func", "v2.vds.order.param"], ["su", emails[client]], ["pricelist", tariff],
                    ["order_period", "1"], [f"addon_{ram}", "4"], [f"addon_{backup}", "on"],
                    ["domain", f"c{client}n{n}.example"], ["skipbasket", "on"], ["sok", "ok"], ["out", "json"]]

        run = run_clients(daemon, order, clients=args.clients, seconds=args.seconds)
        with sqlite3.connect(daemon.db) as db:
            services = db.execute("SELECT count(*) FROM item WHERE parent IS NULL").fetchone()[0]
            charged = db.execute("SELECT count(*), coalesce(sum(amount), 0) FROM expense "
                                 "WHERE operation = 'open'").fetchone()
            commands = db.execute("SELECT count(*) FROM runningoperation WHERE operation = 'open'").fetchone()[0]
            balances = db.execute("SELECT coalesce(sum(balance), 0) FROM subaccount").fetchone()[0]
        check = _ok(unix_caller(daemon)([["func", "ledger.check"], ["out", "json"]]))
        floor = sqlite_commits(daemon.root, min(args.seconds, 3.0))

    rate = run.ok / run.elapsed
    print(f"v2.vds.order.param skipbasket=on (2 add-ons), {args.clients} clients x {args.seconds:g} s")
    print(f"  orders: {run.ok} ok, {run.errors} errors in {run.elapsed:.2f} s")
    for who, cpu in (("daemon", run.daemon_cpu), ("clients", run.clients_cpu)):
        print(f"  {who} CPU: {cpu / run.elapsed:.0%} of one core, {cpu / max(run.ok, 1) * 1e6:,.0f} us per order")
    print(f"  billmgr: {rate:,.0f} orders/s (one durable commit each)")
    print(f"  SQLite floor (1-row INSERT+COMMIT, WAL, synchronous=FULL, same disk): {floor:,.0f} commits/s")
    print(f"  ratio: orders/s / SQLite commits/s = {rate / floor:.2f}")
    if run.errors:
        raise SystemExit(f"error replies, first: {run.first_error}")
    expected = run.ok * PRICE_MINOR
    funded = args.clients * int(TOP_UP) * 100
    if not (services == commands == run.ok and charged == (run.ok, expected) and balances == funded - expected):
        raise SystemExit(f"MISMATCH: {run.ok} orders of {PRICE_MINOR}: services {services}, charges {charged}, "
                         f"commands {commands}, balances {balances} (expected {funded - expected})")
    if check.get("elem"):
        raise SystemExit(f"ledger check failed: {check['elem']}")
    print("  books: one service, one charge and one open command per order; balances exact; ledger check ok")


if __name__ == "__main__":
    main()
