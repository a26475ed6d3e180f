"""The ledger in-process against a real database of the store under test: balances always equal their journal,
checked withdrawals never pass the credit limit, and amounts shown by SQL equal billing.text."""

import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import BILLMGRD, Daemon
from hypothesis import given, settings
from hypothesis import strategies as st

from billmgr import config, ledger
from billmgr.billing.currency import currencies, currency
from billmgr.billing.errors import CurrencyMismatch
from billmgr.billing.money import LIMIT, Money
from billmgr.billing.text import show
from billmgr.clock import Clock
from billmgr.context import Context
from billmgr.errors import MgrError
from billmgr.sqlmoney import shown
from billmgr.store import connect, migrations, postgres
from billmgr.store.dialect import PostgreSQL, SQLite

RUB = currency("RUB")
SCHEMAS = Path(__file__).parent / "schemas"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A connection that commits each statement, to a fresh database: a SQLite file or a PostgreSQL database."""
    settings = config.load(str(Daemon(tmp_path_factory.mktemp("ledger")).conf))    # only its database
    if settings.postgresql:
        conn = postgres.connect(postgres.conninfo(settings))
        yield postgres.Connection(conn)
    else:
        conn = connect(settings.db)
        migrations.apply(conn)
        yield conn
    conn.close()


def context(db, actor):
    """A Context on the fixture's connection, with its store's dialect."""
    return Context(db, Clock(), actor, dialect=PostgreSQL if isinstance(db, postgres.Connection) else SQLite)


def new_subaccount(db, creditlimit):
    """A fresh client's RUB subaccount with ``creditlimit`` kopecks of credit."""
    account = db.execute("INSERT INTO account (name, email, project, registration_date) "
                         "VALUES ('c', 'c' || (SELECT count(*) FROM account) || '@example.com', 1, '2026-01-01') "
                         "RETURNING id").fetchone()[0]
    return db.execute("INSERT INTO subaccount (account, project, currency, creditlimit) VALUES (?, 1, 643, ?) "
                      "RETURNING id", (account, creditlimit)).fetchone()[0]


def journal_sum(db, subaccount_id):
    return db.execute("SELECT coalesce(sum(amount), 0) FROM journal WHERE subaccount = ?",
                      (subaccount_id,)).fetchone()[0]


operations = st.lists(st.tuples(st.sampled_from(["post", "withdraw"]), st.integers(-10**9, 10**9)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(creditlimit=st.integers(0, 10**8), steps=operations)
def test_balance_is_always_the_journal_sum_and_withdrawals_respect_the_credit_limit(db, creditlimit, steps):
    subaccount_id = new_subaccount(db, creditlimit)
    ctx = context(db, "property")
    expected = 0
    for operation, minor in steps:
        db.execute("BEGIN")
        try:
            if operation == "post":
                ledger.post(ctx, subaccount_id, Money(minor, RUB), "correction")
                expected += minor
            elif minor > 0:
                try:
                    after = ledger.withdraw(ctx, subaccount_id, Money(minor, RUB), "refund")
                except MgrError as refused:
                    assert refused.type == "balance" and expected - minor < -creditlimit
                else:
                    expected -= minor
                    assert after.minor == expected >= -creditlimit
        finally:
            db.execute("COMMIT")
        balance = db.execute("SELECT balance FROM subaccount WHERE id = ?", (subaccount_id,)).fetchone()[0]
        assert balance == expected == journal_sum(db, subaccount_id)
    assert list(ledger.consistency(db)) == []


def test_a_suspended_subaccount_refuses_withdrawals_but_takes_bookings(db):
    subaccount_id = new_subaccount(db, 0)
    ctx = context(db, "test")
    db.execute("UPDATE subaccount SET active = 0 WHERE id = ?", (subaccount_id,))
    ledger.post(ctx, subaccount_id, Money(500, RUB), "correction")
    with pytest.raises(MgrError) as refused:
        ledger.withdraw(ctx, subaccount_id, Money(100, RUB), "expense")
    assert (refused.value.type, refused.value.object) == ("suspended", "subaccount")
    assert journal_sum(db, subaccount_id) == 500


def test_postings_are_refused_in_another_currency_an_unknown_kind_or_beyond_64_bits(db):
    subaccount_id = new_subaccount(db, 0)
    ctx = context(db, "test")
    for wrong in [lambda: ledger.post(ctx, subaccount_id, Money(1, currency("USD")), "correction"),
                  lambda: ledger.post(ctx, subaccount_id, Money(1, RUB), "gift"),
                  lambda: ledger.withdraw(ctx, subaccount_id, Money(0, RUB), "refund")]:
        with pytest.raises((CurrencyMismatch, ValueError)):
            wrong()
    ledger.post(ctx, subaccount_id, Money(LIMIT, RUB), "correction")
    with pytest.raises(ValueError):
        ledger.post(ctx, subaccount_id, Money(1, RUB), "correction")
    assert journal_sum(db, subaccount_id) == LIMIT


def test_the_journal_is_append_only(db):
    subaccount_id = new_subaccount(db, 0)
    ledger.post(context(db, "test"), subaccount_id, Money(100, RUB), "correction")
    for statement in ("UPDATE journal SET amount = 1", "DELETE FROM journal"):
        with pytest.raises((sqlite3.IntegrityError, postgres.pgerrors.RaiseException), match="append-only"):
            db.execute(statement)


@settings(max_examples=300, deadline=None)
@given(minor=st.integers(-LIMIT, LIMIT), unit=st.sampled_from(currencies()))
def test_amounts_shown_by_sql_are_what_billing_shows(db, minor, unit):
    text, = db.execute(f"SELECT {shown('v.minor', 'v.units')} FROM "
                       "(SELECT CAST(? AS BIGINT) AS minor, CAST(? AS BIGINT) AS units) AS v",
                       (minor, unit.minor_units)).fetchone()
    assert text == show(Money(minor, unit))


@pytest.mark.sqlite
def test_balances_of_schema_2_get_an_opening_journal_row_and_pass_check(tmp_path):
    """(A SQLite file of schema 2: PostgreSQL databases start at the baseline of version 8.)"""
    d = Daemon(tmp_path)
    with sqlite3.connect(d.db) as db:
        db.executescript((SCHEMAS / "v2.sql").read_text())
        db.executemany("INSERT INTO subaccount (account, currency, balance) VALUES (?, ?, ?)",
                       [(1, 643, 12345), (1, 840, -500), (2, 643, 0)])
    assert subprocess.run([BILLMGRD, "migrate"], env=d.env, capture_output=True, timeout=120).returncode == 0
    with sqlite3.connect(d.db) as db:
        rows = db.execute("SELECT s.id, s.project, s.active, s.balance, j.amount, j.kind FROM subaccount s "
                          "LEFT JOIN journal j ON j.subaccount = s.id ORDER BY s.id").fetchall()
        enabled = [iso for (iso,) in db.execute("SELECT iso FROM currency WHERE active = 1 ORDER BY iso")]
        known = db.execute("SELECT count(*), min(minor_units), max(minor_units) FROM currency").fetchone()
    assert rows == [(1, 1, 1, 12345, 12345, "opening"), (2, 1, 0, -500, -500, "opening"), (3, 1, 1, 0, None, None)]
    assert enabled == ["EUR", "RUB", "USD"] and known == (len(currencies()), 0, 4)
    check = subprocess.run([BILLMGRD, "check"], env=d.env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "balances: ok" in check.stdout
