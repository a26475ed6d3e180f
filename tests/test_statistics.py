"""Usage and its charge: modules report usage (service.setstat), service.statdaily charges a day exactly as
the seed calls it -- daily and monthly accounting, once per day unless forced, a forced day replacing its
charge -- and the nightly run charges yesterday; every balance by hand, the ledger check clean."""

from datetime import date, timedelta

import pytest
from conftest import Daemon
from test_nightly import nightly
from test_services import balance, books_balance, module_did, top_up


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("stats"), settings="Option TestClock\nNightlyTime 23:59\n").start()
    d.today = date.today()
    d.tariff = d.create("pricelist.edit", "itemtype=vds", "name=Cloud", "monthly643=100")
    d.traffic = d.create("pricelist.addon.edit", f"plid={d.tariff}", "name=Traffic", "intname=traffic",
                         "addontype=2", "billtype=3", "measure=GB", "addonlimit=10", "overage643=0.75",
                         "statperiod=daily")
    d.cpu = d.create("pricelist.addon.edit", f"plid={d.tariff}", "name=CPU hours", "intname=cpu", "addontype=2",
                     "billtype=3", "measure=h", "addonlimit=100", "overage643=2", "statperiod=monthly")
    d.method = int(d.ok("paymethod.edit", "name=Wire", "sok=ok")["id"])
    yield d
    d.stop()


def service(d, email):
    account = d.new_account(email)
    top_up(d, account, "100")
    elid = int(d.ok("v2.vds.order.param", f"su={email}", f"pricelist={d.tariff}", "order_period=1",
                    "skipbasket=on", "sok=ok")["service_id"])
    module_did(d, elid, "open")
    assert balance(d, account) == "0.00"        # the statistics add-ons add nothing to the period price
    return account, elid


def report(d, elid, addon, day, value):
    d.ok("service.setstat", f"item={elid}", f"addon={addon}", f"statdate={day}", f"value={value}")


def statdaily(d, elid, day, *extra):
    """The seed's call, as written: mgrctl -m billmgr service.statdaily item=5 statdate=2023-12-31 force=on."""
    return d.run("service.statdaily", f"item={elid}", f"statdate={day}", *extra)


def test_a_daily_accounted_add_on_charges_each_days_overage_once_unless_forced(cloud):
    account, elid = service(cloud, "traffic@example.com")
    report(cloud, elid, "traffic", "2023-12-31", 15)            # 5 GB over the 10 included
    assert statdaily(cloud, elid, "2023-12-31").returncode == 0
    assert balance(cloud, account) == "-3.75"                   # 5 x 0.75, post-paid
    again = statdaily(cloud, elid, "2023-12-31")
    assert again.returncode == 1 and "exists(statdate)" in again.stderr and "2023-12-31" in again.stderr
    assert balance(cloud, account) == "-3.75"
    report(cloud, elid, str(cloud.traffic), "2023-12-31", 30)   # the module corrects the day: 20 GB over
    assert statdaily(cloud, elid, "2023-12-31", "force=on").returncode == 0
    assert balance(cloud, account) == "-15.00"                  # the 3.75 reversed, 15.00 charged
    assert cloud.stored("SELECT amount, operation, cdate FROM expense WHERE item = ? AND operation = 'statistic'",
                        elid) == [(1500, "statistic", "2023-12-31")]
    assert cloud.stored("SELECT usage, units, amount FROM itemstat_charge WHERE item = ?", elid) == [
        (30, 20, 1500), (0, 0, 0)]       # traffic; and CPU hours, nothing used
    listed = {(row["statdate"], row["name"]): row for row in cloud.rows("service.stat", f"elid={elid}")}
    assert listed[("2023-12-31", "Traffic")]["amount"] == "15.00"
    books_balance(cloud)


def test_a_monthly_accounted_add_on_charges_the_months_overage_as_it_grows(cloud):
    """October 2026, 5 CPU hours a day, 100 included a month: days 1-20 reach 100 and cost nothing, each
    of days 21-31 is 5 hours over -- 55 hours, 110.00 -- and a recount of day 25 changes nothing."""
    account, elid = service(cloud, "cpu@example.com")
    days = [f"2026-10-{n:02d}" for n in range(1, 32)]
    for day in days:
        report(cloud, elid, "cpu", day, 5)
        assert statdaily(cloud, elid, day).returncode == 0
    charged = dict(cloud.stored("SELECT statdate, units FROM itemstat_charge WHERE item = ? AND addon = ?",
                                elid, cloud.cpu))
    assert [charged[day] for day in days] == [0] * 20 + [5] * 11
    assert balance(cloud, account) == "-110.00"
    assert statdaily(cloud, elid, "2026-10-25", "force=on").returncode == 0
    assert balance(cloud, account) == "-110.00"
    assert cloud.stored("SELECT count(*) FROM expense WHERE item = ? AND operation = 'statistic' AND cdate = ?",
                        elid, "2026-10-25") == [(1,)]
    # a new month starts from its own included amount
    report(cloud, elid, "cpu", "2026-11-01", 90)
    statdaily(cloud, elid, "2026-11-01")
    assert balance(cloud, account) == "-110.00"
    books_balance(cloud)


@pytest.mark.parametrize("params, error", [
    (["addon=disk", "statdate=2026-01-01", "value=1"], "value(addon)"),
    (["addon=traffic", "statdate=2026-13-01", "value=1"], "value(statdate)"),
    (["addon=traffic", "statdate=2026-01-01", "value=-1"], "value(value)"),
    (["addon=traffic", "statdate=2026-01-01", "value=lots"], "value(value)"),
])
def test_bad_usage_is_refused_and_nothing_is_kept(cloud, params, error):
    _, elid = service(cloud, f"bad{len(cloud.stored('SELECT id FROM account'))}@example.com")
    result = cloud.run("service.setstat", f"item={elid}", *params)
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR {error}"), result.stderr
    assert cloud.stored("SELECT count(*) FROM itemstat WHERE item = ?", elid) == [(0,)]


def test_the_nightly_run_charges_yesterdays_usage(cloud):
    account, elid = service(cloud, "nightly@example.com")
    yesterday = cloud.today - timedelta(days=1)
    report(cloud, elid, "traffic", yesterday.isoformat(), 12)   # 2 GB over
    nightly(cloud, cloud.today, "statistics")
    assert balance(cloud, account) == "-1.50"
    nightly(cloud, cloud.today, "statistics")                   # once
    assert balance(cloud, account) == "-1.50"
    books_balance(cloud)
