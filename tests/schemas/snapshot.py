#!/usr/bin/env python3
"""Write tests/schemas/vN.sql: a database of the current schema version N,
filled through the real billmgrd and mgrctl, for the migration tests.

Run it once per released schema version, from the release's checkout,
before anyone appends the next migration; never rewrite a snapshot.  The
calls below grow with the functions: each snapshot keeps what that release
could store.

    python3 tests/schemas/snapshot.py [--checkout DIR]
"""

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CALLS = [
    ["employee.edit", "name=staff", "passwd=Staff-pass1", "confirm=Staff-pass1", "realname=Old Staff",
     "email=staff@example.com", "sok=ok"],
    ["department.edit", "name=Sales", "name_ru=Продажи", "functions=account,account.edit", "sok=ok"],
    ["employee.edit", "name=seller", "passwd=Seller-pass1", "confirm=Seller-pass1", "department=1",
     "ip_access=192.0.2.0/24", "sok=ok"],
    ["account.edit", "email=alice@example.com", "realname=Alice Liddell", "passwd=Wonder-land1", "sok=ok"],
    ["account.edit", "email=bob@example.com", "name=Боб Иванов", "country=643", "note=pays by \"wire\"\nmonthly",
     "label=vip", "sok=ok"],
    ["account.edit", "email=carol@example.com", "verify_email=on", "nocalcstat=on", "notify=on", "recovery=on",
     "registration_ip=192.0.2.7", "sok=ok"],
    ["account.edit", "email=gone@example.com", "sok=ok"],
    ["account.delete", "elid=4", "sok=ok"],
    ["account.edit", "elid=2", "note=switched to card", "employee=1", "sok=ok"],
    ["user.edit", "plid=1", "name=alice-helper", "passwd=Helper-pass1", "realname=Alice's helper", "sok=ok"],
    ["auth", "username=staff", "password=Staff-pass1"],
    ["project.edit", "name=Second provider", "sok=ok"],
    ["account.edit", "email=dave@example.com", "project=2", "sok=ok"],
    ["accountgroup.edit", "name=VIP", "sok=ok"],
    ["ticket.write.account", "elid=1", "subject=Hello", "message=First ticket", "sok=ok"],
    ["currency.edit", "elid=48", "active=on", "symbol=BD", "sok=ok"],
    ["paymethod.edit", "name=Bank transfer", "name_ru=Банковский перевод", "currency=RUB", "commission=2.5",
     "minamount=10", "allowrefund=on", "sok=ok"],
    ["subaccount.edit", "plid=1", "creditlimit=100", "allowpostpaid=on", "sok=ok"],
    ["subaccount.edit", "plid=1", "subaccount_currency=USD", "sok=ok"],
    ["subaccount.refund", "elid=1", "amount=12.34", "note=cash back", "sok=ok"],
    ["payment.add", "plid=1", "paymethod=1", "amount=100", "sok=ok"],
    ["payment.setpaid", "elid=1"],
    ["subaccount.expense.edit", "plid=1", "subaccount=1", "amount=30", "taxrate=20", "operation=manual", "sok=ok"],
    ["payment.add", "plid=2", "paymethod=1", "amount=50", "sok=ok"],
]


def _wait_for(path, process):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"billmgrd exited: {process.stderr.read().decode()}")
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(path))
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("billmgrd did not answer")


def _statements(db):
    """The database as SQL, with each full-text index (a virtual table) declared
    and rebuilt from its content rather than written through its shadow tables,
    which SQL cannot load back."""
    virtual = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'"))
    derived = tuple(f'"{name}' for name in virtual) + tuple(f"'{name}_" for name in virtual)
    def skipped(statement):
        return (statement.startswith("PRAGMA writable_schema")
                or any(statement.startswith(f"{verb} {name}") for verb in ("INSERT INTO", "CREATE TABLE")
                       for name in derived)
                or (statement.startswith("INSERT INTO sqlite_master")
                    and any(f"'{name}'" in statement for name in virtual)))

    for statement in db.iterdump():
        if skipped(statement):
            continue
        if statement == "COMMIT;":
            yield from (f"{sql};" for sql in virtual.values())
            yield from (f"INSERT INTO {name} ({name}) VALUES ('rebuild');" for name in virtual)
        yield statement


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=HERE.parents[1],
                        help="the billmgr checkout whose code writes the snapshot")
    checkout = parser.parse_args().checkout.resolve()
    version = int(subprocess.run(
        [sys.executable, "-c", "from billmgr.store import migrations; print(len(migrations.MIGRATIONS))"],
        env=dict(os.environ, PYTHONPATH=str(checkout / "src")), capture_output=True, text=True,
        check=True).stdout)
    target = HERE / f"v{version}.sql"
    if target.exists():
        sys.exit(f"{target} exists: a released snapshot is never rewritten")
    with tempfile.TemporaryDirectory() as root:
        conf = Path(root) / "billmgr.conf"
        conf.write_text(f"path data {root}\n")
        env = dict(os.environ, BILLMGR_CONF=str(conf))
        daemon = subprocess.Popen([checkout / "bin" / "billmgrd", "run"], env=env, stderr=subprocess.PIPE)
        try:
            _wait_for(Path(root) / "billmgr.sock", daemon)
            for call in CALLS:
                subprocess.run([checkout / "bin" / "mgrctl", "-m", "billmgr", *call], env=env, check=True,
                               stdout=subprocess.DEVNULL)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
        with sqlite3.connect(Path(root) / "billmgr.db") as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == version
            dump = "\n".join(_statements(db))
    target.write_text(f"-- billmgr schema version {version}, written by tests/schemas/snapshot.py\n"
                      f"{dump}\nPRAGMA user_version = {version};\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
