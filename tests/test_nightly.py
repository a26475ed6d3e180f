"""The nightly run: daily charges, auto-renewal with money, suspension without it, deletion after the type's
period, expiry notices -- run by hand for a date (``billmgrd nightly``) and by the daemon's scheduler on its
own clock; repeated runs change nothing; every balance by hand and the ledger check clean."""

import subprocess
from datetime import date, timedelta

import pytest
from conftest import BILLMGRD, Daemon, eventually
from test_auth import shift_clock
from test_services import balance, books_balance, item, module_did, top_up

TODAY = date.today()


def advance(d, day):
    """Move the daemon's clock to ``day`` (``billmgrd clock``), so module callbacks happen that day too."""
    if day > d.today:
        moved = subprocess.run([BILLMGRD, "clock", day.isoformat()], env=d.env, capture_output=True, text=True,
                               timeout=60)
        assert moved.returncode == 0 and moved.stdout.startswith(day.isoformat()), moved.stdout + moved.stderr
        d.today = day


def nightly(d, day, *steps):
    """``billmgrd nightly --date DAY [--step …]`` on the daemon's ``day``: {step: (done, skipped, failed)}."""
    advance(d, day)
    result = subprocess.run([BILLMGRD, "nightly", "--date", day.isoformat(), *[f"--step={s}" for s in steps]],
                            env=d.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    counts = {}
    for line in result.stdout.splitlines():
        step, _, rest = line.partition(": ")
        counts[step] = tuple(int(part.split()[0]) for part in rest.split(", "))
    return counts


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A daemon whose own scheduler waits for 23:59, so the runs here are the ones the tests start."""
    d = Daemon(tmp_path_factory.mktemp("nightly"), settings="Option TestClock\nNightlyTime 23:59\n").start()
    d.hosting = d.create("pricelist.edit", "itemtype=vhost", "name=Hosting", "monthly643=300")
    d.licence = d.create("pricelist.edit", "itemtype=soft", "name=Licence", "monthly643=150")
    d.daily = d.create("pricelist.edit", "itemtype=vds", "name=Cloud", "day643=10", "monthly643=250", "billdaily=on")
    d.method = int(d.ok("paymethod.edit", "name=Wire", "sok=ok")["id"])
    d.today = TODAY
    yield d
    d.stop()


def order(d, email, tariff, *params):
    reply = d.ok("v2.vhost.order.param" if tariff == d.hosting else "v2.soft.order.param" if tariff == d.licence
                 else "v2.vds.order.param", f"su={email}", f"pricelist={tariff}", "order_period=1",
                 "skipbasket=on", "sok=ok", *params)
    elid = int(reply["service_id"])
    module_did(d, elid, "open")
    return elid


def test_renewal_suspension_deletion_and_notices_by_date(shop):
    d = shop
    account = d.new_account("night@example.com")
    top_up(d, account, "1000")
    hosting = order(d, "night@example.com", d.hosting, "autoprolong=1")
    licence = order(d, "night@example.com", d.licence)
    assert balance(d, account) == "550.00"
    expiry = date.fromisoformat(item(d, hosting)["expiredate"])

    # a week before expiry: each service gets its notice, once
    assert nightly(d, expiry - timedelta(days=7), "notify")["notify"] == (2, 0, 0)
    assert nightly(d, expiry - timedelta(days=7), "notify")["notify"] == (0, 2, 0)
    sent = d.stored("SELECT payload FROM outbox WHERE kind = 'mail' AND payload LIKE '%expires on%'")
    assert len(sent) == 2 and all("night@example.com" in payload for (payload,) in sent)

    # three days before: the hosting renews itself (balance covers 300), the licence has no auto-renewal
    first = nightly(d, expiry - timedelta(days=3))
    assert first["renew"] == (1, 0, 0) and first["suspend"] == (0, 0, 0)
    assert balance(d, account) == "250.00"
    assert item(d, hosting)["expiredate"] > expiry.isoformat() and item(d, hosting)["operations"] == ["prolong"]
    module_did(d, hosting, "prolong")
    assert nightly(d, expiry - timedelta(days=3))["renew"] == (0, 0, 0)      # run again: nothing twice
    assert balance(d, account) == "250.00"
    assert d.stored("SELECT count(*) FROM expense WHERE item = ? AND operation = 'prolong'", hosting) == [(1,)]

    # the day after expiry: the licence is suspended automatically
    after = nightly(d, expiry + timedelta(days=1))
    assert after["suspend"] == (1, 0, 0)
    assert item(d, licence)["operations"] == ["suspend"]
    module_did(d, licence, "suspend")
    assert d.stored("SELECT status, autosuspend FROM item WHERE id = ?", licence) == [(3, 1)]

    # 30 days later (the type's auto-deletion period) it is deleted
    assert nightly(d, expiry + timedelta(days=30), "delete")["delete"] == (0, 0, 0)
    assert nightly(d, expiry + timedelta(days=32), "delete")["delete"] == (1, 0, 0)
    assert item(d, licence)["operations"] == ["close"]
    module_did(d, licence, "close")
    assert item(d, licence)["status"] == 4
    assert balance(d, account) == "250.00"
    books_balance(d)
    runs = {(row["day"], row["step"]): row for row in d.rows("nightly")}
    assert runs[((expiry - timedelta(days=3)).isoformat(), "renew")]["finished"]


def test_without_money_a_service_is_suspended_and_renewing_resumes_it(shop):
    d = shop
    account = d.new_account("poor@example.com")
    top_up(d, account, "300")
    hosting = order(d, "poor@example.com", d.hosting, "autoprolong=1")
    expiry = date.fromisoformat(item(d, hosting)["expiredate"])
    assert nightly(d, expiry, "renew")["renew"][2] == 0          # 0.00 on the balance: skipped, not failed
    assert item(d, hosting)["expiredate"] == expiry.isoformat() and item(d, hosting)["operations"] == []
    nightly(d, expiry + timedelta(days=1), "suspend")
    assert item(d, hosting)["operations"] == ["suspend"]
    module_did(d, hosting, "suspend")
    top_up(d, account, "300")
    # the money came: the next run renews it from its expiry and resumes it
    nightly(d, expiry + timedelta(days=2), "renew")
    assert item(d, hosting)["operations"] == ["resume", "prolong"] and balance(d, account) == "0.00"
    assert d.stored("SELECT cdate FROM expense WHERE item = ? AND operation = 'prolong'", hosting) == [
        (expiry.isoformat(),)]
    books_balance(d)


def test_a_daily_tariff_charges_each_day_once(shop):
    d = shop
    account = d.new_account("daily@example.com")
    top_up(d, account, "100")
    cloud = order(d, "daily@example.com", d.daily)
    today = d.today
    assert balance(d, account) == "90.00" and item(d, cloud)["period"] == -50
    tomorrow = today + timedelta(days=1)
    assert item(d, cloud)["expiredate"] == tomorrow.isoformat()
    assert nightly(d, today, "billdaily")["billdaily"] == (0, 0, 0)          # today is paid by the order
    assert nightly(d, tomorrow, "billdaily")["billdaily"] == (1, 0, 0)
    assert nightly(d, tomorrow, "billdaily")["billdaily"] == (0, 0, 0)
    assert balance(d, account) == "80.00" and item(d, cloud)["expiredate"] == (today + timedelta(days=2)).isoformat()
    assert d.stored("SELECT cdate, amount FROM expense WHERE item = ? ORDER BY id", cloud) == [
        (today.isoformat(), 1000), (tomorrow.isoformat(), 1000)]
    books_balance(d)


def test_an_unknown_step_is_refused(shop):
    result = subprocess.run([BILLMGRD, "nightly", "--step", "everything"], env=shop.env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "no step everything" in result.stderr


def test_the_daemon_runs_the_day_at_its_time_and_the_next_day_when_its_clock_gets_there(tmp_path):
    d = Daemon(tmp_path, settings="Option TestClock\nNightlyTime 00:00\n").start()
    try:
        def finished(day):
            return len([row for row in d.rows("nightly", "filter=on", f"day={day.isoformat()}")
                        if row.get("finished")]) == 7
        eventually(lambda: finished(TODAY), what="today's run did not finish")
        shift_clock(d, 86400)
        eventually(lambda: finished(TODAY + timedelta(days=1)), what="the next day's run did not start")
    finally:
        d.stop()


def test_a_daemon_killed_in_the_middle_of_the_run_finishes_it_without_charging_twice(tmp_path):
    """10,000 services due for renewal; the daemon is killed -9 while it renews them, and started again."""
    d = Daemon(tmp_path, settings="NightlyTime 23:59\n").start()
    tariff = d.create("pricelist.edit", "itemtype=vhost", "name=Hosting", "monthly643=3")
    d.method = int(d.ok("paymethod.edit", "name=Wire", "sok=ok")["id"])
    owners = []
    for n in range(10):
        account, subaccount = d.new_client(f"many{n}@example.com")
        top_up(d, account, "3000")
        owners.append((account, subaccount))
        d.stored("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
                 "INSERT INTO item (account, subaccount, pricelist, itemtype, status, period, autoprolong, cost, "
                 "createdate, opendate, expiredate, domain) SELECT ?, ?, p.id, p.itemtype, 2, 1, 1, 300, ?, ?, ?, "
                 "'d' || CAST(n.i AS TEXT) FROM n, pricelist p WHERE p.id = ?",
                 account, subaccount, f"{TODAY} 00:00:00", f"{TODAY} 00:00:00", TODAY.isoformat(), tariff)
    assert d.stop() == 0
    d.conf.write_text(d.conf.read_text().replace("NightlyTime 23:59", "NightlyTime 00:00"))
    d.start()      # the day's run starts at once

    def renewed():
        return d.stored("SELECT count(*) FROM expense WHERE operation = 'prolong'")[0][0]
    eventually(lambda: renewed() >= 1000, timeout=120, what="the run did not get going")
    d.process.kill()
    d.process.wait()
    assert renewed() < 10000, "the run ended before the daemon was killed: make it longer"
    d.start()
    try:
        eventually(lambda: len(d.stored("SELECT 1 FROM nightly_run WHERE day = ? AND finished IS NOT NULL",
                                        TODAY.isoformat())) == 7, timeout=300, what="the run was not finished")
        assert d.stored("SELECT count(*), count(DISTINCT item) FROM expense WHERE operation = 'prolong'") == [
            (10000, 10000)]
        for account, _ in owners:          # 3000.00 less 1000 renewals of 3.00 each
            assert balance(d, account) == "0.00"
        books_balance(d)
    finally:
        d.stop()
