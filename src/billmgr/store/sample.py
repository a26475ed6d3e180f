"""Synthetic clients written straight into the database, for scale tests and benchmarks.

Creating 100,000 clients through ``account.edit`` takes minutes; this
writes them in one transaction of either store, with the rows a real
client has (account, its provider, its first login) and the store keeping
its substring indexes, as a provider's imported data would arrive.  Client
N is named "<Given> <Family> N" with email clientN@exampleM.com.
"""

from datetime import timedelta

from . import Store

GIVEN = ("Anna", "Boris", "Clara", "Dmitry", "Elena", "Fedor", "Galina", "Igor", "Julia", "Kirill")
FAMILY = ("Smith", "Ivanov", "Garcia", "Petrova", "Müller", "Kowalski", "Rossi", "Novak", "Sato", "Olsen")


def name(n):
    return f"{GIVEN[n % 10]} {FAMILY[n // 10 % 10]} {n}"


def email(n):
    return f"client{n}@example{n % 97}.com"


def add_clients(path, count):
    """Add ``count`` clients to the SQLite file at ``path`` (created and migrated if need be)."""
    store = Store(path)
    try:
        add_clients_to(store, count)
    finally:
        store.close()


def add_clients_to(store, count):
    """Add ``count`` clients to an open store, numbered on from its last client.

    The ids are the database's own (so PostgreSQL's identity sequence stays
    right); in one write transaction they follow on from the highest, which
    is checked, since names and emails are made from them."""
    with store.transaction(write=True) as db:
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM account").fetchone()[0]
        numbers = range(first, first + count)
        db.executemany(
            "INSERT INTO account (name, email, project, registration_date, registration_ip) "
            "VALUES (?, ?, 1, ?, '192.0.2.1')",
            ((name(n), email(n),
              f"20{20 + n % 6}-{1 + n % 12:02d}-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:{n % 59:02d}")
             for n in numbers))
        given = db.execute("SELECT count(*), max(id) FROM account WHERE id >= ?", (first,)).fetchone()
        if tuple(given) != (count, first + count - 1):
            raise RuntimeError(f"new clients got ids other than {first}..{first + count - 1}")
        db.execute("INSERT INTO account_project (account, project) SELECT id, 1 FROM account WHERE id >= ?",
                   (first,))
        db.execute("INSERT INTO user (account, name, level, email, created) "
                   "SELECT id, email, 'user', email, registration_date FROM account WHERE id >= ?", (first,))


RENEW, SUSPEND, METERED = "renew", "suspend", "metered"
USAGE = 15      # units of each statistics add-on a metered service used the day before


def add_services_to(store, count, clients, tariffs, day, balance_minor):
    """``count`` active services for ``clients`` new clients, each funded with ``balance_minor`` on one
    subaccount (an ``opening`` journal row, so the books agree).  Service N is, in turn, of tariff
    ``tariffs[kind]`` and: due for auto-renewal on ``day`` (RENEW), expired the day before without
    renewal (SUSPEND), or paid for weeks ahead with ``USAGE`` units of each statistics add-on of its
    tariff used the day before (METERED).  Returns {kind: count}."""
    add_clients_to(store, clients)
    stamp = f"{day.isoformat()} 00:00:00"
    kinds = (RENEW, SUSPEND, METERED)
    expiry = {RENEW: day, SUSPEND: day - timedelta(days=1), METERED: day + timedelta(days=20)}
    with store.transaction(write=True) as db:
        first = db.execute("SELECT max(id) FROM account").fetchone()[0] - clients + 1
        db.execute("INSERT INTO subaccount (account, project, currency, balance, active) "
                   "SELECT id, 1, 643, ?, 1 FROM account WHERE id >= ?", (balance_minor, first))
        db.execute("INSERT INTO journal (subaccount, amount, kind, at, actor) SELECT id, balance, 'opening', ?, "
                   "'sample' FROM subaccount WHERE account >= ?", (stamp, first))
        subaccounts = [tuple(row) for row in db.execute(
            "SELECT account, id FROM subaccount WHERE account >= ? ORDER BY account", (first,))]
        tariff = {kind: db.execute("SELECT p.itemtype, c.cost FROM pricelist p JOIN pricelist_price c "
                                   "ON c.pricelist = p.id AND c.period = 1 WHERE p.id = ?", (tariffs[kind],)).fetchone()
                  for kind in kinds}
        first_item = db.execute("SELECT coalesce(max(id), 0) + 1 FROM item").fetchone()[0]
        db.executemany(
            "INSERT INTO item (account, subaccount, pricelist, itemtype, status, period, autoprolong, cost, "
            "createdate, opendate, expiredate, domain) VALUES (?, ?, ?, ?, 2, 1, ?, ?, ?, ?, ?, ?)",
            ((*subaccounts[n % clients], tariffs[kinds[n % 3]], tariff[kinds[n % 3]][0],
              1 if kinds[n % 3] == RENEW else None, tariff[kinds[n % 3]][1], stamp, stamp,
              expiry[kinds[n % 3]].isoformat(), f"s{n}.example") for n in range(count)))
        db.execute("INSERT INTO item (account, subaccount, pricelist, itemtype, parent, status, period, createdate) "
                   "SELECT i.account, i.subaccount, a.id, i.itemtype, i.id, 2, 1, i.createdate FROM item i "
                   "JOIN pricelist a ON a.parent = i.pricelist AND a.billtype = 3 WHERE i.id >= ? AND i.parent IS NULL",
                   (first_item,))
        db.execute("INSERT INTO itemstat (item, addon, statdate, value) SELECT c.parent, c.pricelist, ?, ? "
                   "FROM item c WHERE c.parent >= ?", ((day - timedelta(days=1)).isoformat(), USAGE, first_item))
    return {kind: len(range(i, count, 3)) for i, kind in enumerate(kinds)}
