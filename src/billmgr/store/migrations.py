"""Versioned schema migrations, applied in order at start.

The schema version is SQLite's ``user_version``.  Each migration runs in its
own transaction with the version bump, so a failed upgrade leaves the
database as it was.  Append new migrations; never edit a released one.

PostgreSQL came with version 8: a new PostgreSQL database starts from
``postgres.sql``, the schema m001..m008 reach on SQLite, with the rows
those migrations put in (providers, currencies, regions) copied from a
freshly migrated SQLite database in memory, so both hold the same data.
Every later migration runs on both: it gets a ``Step`` and writes standard
SQL, integers as BIGINT (64-bit on both) and a table's key as ``{id}``.
"""

import sqlite3
from importlib import resources

import pycountry
import sqlite_utils

from . import dialect, search


def m001_accounts(db):
    db["project"].create({"id": int, "name": str, "status": int}, pk="id",
                         not_null={"name", "status"}, defaults={"status": 2})
    db["project"].create_index(["name"], unique=True)
    db["project"].insert({"id": 1, "name": "Default provider"})
    db["account"].create({
        "id": int, "name": str, "email": str, "realname": str, "project": int,
        "country": int, "state": int, "note": str, "label": str,
        "valid_phone": str, "try_phone": str, "verify_email": int, "selfview": str,
        "settingurl": str, "attitude": int, "employee": int, "nocalcstat": int,
        "products_page": int, "registration_date": str, "registration_ip": str,
        "status": int,
    }, pk="id", foreign_keys=[("project", "project", "id")],
        not_null={"name", "email", "project", "status", "registration_date",
                  "verify_email", "nocalcstat"},
        defaults={"status": 2, "verify_email": 0, "nocalcstat": 0, "note": "", "label": "",
                  "realname": "", "valid_phone": "", "try_phone": "", "selfview": "",
                  "settingurl": "", "registration_ip": ""})
    db.execute("CREATE UNIQUE INDEX account_email ON account (email COLLATE NOCASE)")
    db["account"].create_index(["name"])
    db["user"].create({"id": int, "account": int, "name": str, "passwd": str,
                       "level": str, "realname": str, "email": str, "enabled": int},
                      pk="id", foreign_keys=[("account", "account", "id")],
                      not_null={"name", "level", "enabled"},
                      defaults={"enabled": 1, "passwd": "", "realname": "", "email": ""})
    db.execute('CREATE UNIQUE INDEX user_name ON "user" (name COLLATE NOCASE)')
    db["user"].create_index(["account"])
    db["outbox"].create({"id": int, "created": str, "kind": str, "payload": str,
                         "state": str, "attempts": int, "last_error": str},
                        pk="id", not_null={"created", "kind", "payload", "state", "attempts"},
                        defaults={"state": "pending", "attempts": 0, "last_error": ""})


def _run(db, statements):
    for statement in statements.split(";"):
        if statement.strip():
            db.execute(statement)


def m002_clients(db):
    """Users, sessions, history, providers per client, groups, tickets, registration."""
    _run(db, """
    DROP INDEX idx_project_name;
    CREATE UNIQUE INDEX project_name ON project (name COLLATE NOCASE);
    ALTER TABLE user ADD COLUMN created TEXT NOT NULL DEFAULT '';
    ALTER TABLE account ADD COLUMN partner TEXT NOT NULL DEFAULT '';
    ALTER TABLE account ADD COLUMN partner_sesid TEXT NOT NULL DEFAULT '';
    ALTER TABLE account ADD COLUMN ga TEXT NOT NULL DEFAULT '';
    ALTER TABLE account ADD COLUMN tzoffset TEXT NOT NULL DEFAULT '';
    CREATE TABLE session (
        id TEXT PRIMARY KEY, user INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
        created TEXT NOT NULL, last_seen TEXT NOT NULL, address TEXT NOT NULL);
    CREATE INDEX session_user ON session (user);
    CREATE TABLE login_key (
        key_hash TEXT PRIMARY KEY, user INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
        purpose TEXT NOT NULL, expires TEXT NOT NULL);
    CREATE TABLE login_failure (
        id INTEGER PRIMARY KEY, subject TEXT NOT NULL, at TEXT NOT NULL);
    CREATE INDEX login_failure_subject ON login_failure (subject, at);
    CREATE TABLE history (
        id INTEGER PRIMARY KEY, account INTEGER NOT NULL, changedate TEXT NOT NULL,
        user TEXT NOT NULL, ip TEXT NOT NULL, action TEXT NOT NULL, description TEXT NOT NULL);
    CREATE INDEX history_account ON history (account, id);
    CREATE TABLE account_project (
        account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        project INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,
        status INTEGER NOT NULL DEFAULT 2, PRIMARY KEY (account, project));
    CREATE TABLE accountgroup (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
        auto INTEGER NOT NULL DEFAULT 0);
    CREATE UNIQUE INDEX accountgroup_name ON accountgroup (name COLLATE NOCASE);
    CREATE TABLE accountgroup_condition (
        id INTEGER PRIMARY KEY,
        accountgroup INTEGER NOT NULL REFERENCES accountgroup(id) ON DELETE CASCADE,
        field TEXT NOT NULL, op TEXT NOT NULL, value TEXT NOT NULL);
    CREATE TABLE account_accountgroup (
        account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        accountgroup INTEGER NOT NULL REFERENCES accountgroup(id) ON DELETE CASCADE,
        PRIMARY KEY (account, accountgroup));
    CREATE TABLE list_filter (
        user TEXT NOT NULL, func TEXT NOT NULL, params TEXT NOT NULL, PRIMARY KEY (user, func));
    CREATE TABLE ticket (
        id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        subject TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 1, created TEXT NOT NULL,
        updated TEXT NOT NULL);
    CREATE INDEX ticket_account ON ticket (account);
    CREATE TABLE ticket_message (
        id INTEGER PRIMARY KEY, ticket INTEGER NOT NULL REFERENCES ticket(id) ON DELETE CASCADE,
        author TEXT NOT NULL, level TEXT NOT NULL, body TEXT NOT NULL, created TEXT NOT NULL);
    CREATE TABLE offer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE account_offer (
        account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        offer INTEGER NOT NULL REFERENCES offer(id), accepted TEXT NOT NULL,
        PRIMARY KEY (account, offer));
    CREATE TABLE account_order (
        id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        createdate TEXT NOT NULL, info TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE currency (
        id INTEGER PRIMARY KEY, iso TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
    CREATE TABLE subaccount (
        id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        currency INTEGER NOT NULL REFERENCES currency(id), balance INTEGER NOT NULL DEFAULT 0,
        UNIQUE (account, currency));
    CREATE TABLE validation (
        id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        kind TEXT NOT NULL, value TEXT NOT NULL, status INTEGER NOT NULL, checked TEXT NOT NULL);
    CREATE INDEX validation_account ON validation (account);
    INSERT INTO currency (id, iso, name) VALUES (643, 'RUB', 'Russian Ruble'), (840, 'USD', 'US Dollar'),
        (978, 'EUR', 'Euro');
    ALTER TABLE outbox ADD COLUMN next_try TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN done TEXT NOT NULL DEFAULT ''
    """)
    db.execute("UPDATE user SET created = (SELECT registration_date FROM account WHERE account.id = user.account)"
               " WHERE account IS NOT NULL")
    db.execute("INSERT INTO account_project (account, project) SELECT id, project FROM account")
    db.execute("CREATE TABLE state (id INTEGER PRIMARY KEY, country INTEGER NOT NULL, "
               "code TEXT NOT NULL UNIQUE, name TEXT NOT NULL)")
    db.execute("CREATE INDEX state_country ON state (country)")
    # Region ids are fixed here, from ISO 3166-2 as pycountry knows it, so they never shift later.
    regions = sorted((s.code, s.name, s.country_code) for s in pycountry.subdivisions)
    db.conn.executemany("INSERT INTO state (country, code, name) VALUES (?, ?, ?)",
                        [(int(pycountry.countries.get(alpha_2=cc).numeric), code, name)
                         for code, name, cc in regions])


def m003_employees(db):
    """Staff become employees in departments.

    Employees stay rows of ``user`` with level ``admin`` and no account (client
    logins have level ``user`` and their account), so sessions, keys, su and the
    login throttle keep one code path.  An employee gains a position, a phone,
    ``default_access_allow`` (every staff function, whatever its departments
    grant) and the addresses it may log in from.  Staff of earlier versions
    keep full access.
    """
    _run(db, """
    ALTER TABLE user ADD COLUMN position TEXT NOT NULL DEFAULT '';
    ALTER TABLE user ADD COLUMN phone TEXT NOT NULL DEFAULT '';
    ALTER TABLE user ADD COLUMN default_access_allow INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE user ADD COLUMN all_ip_access INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE user ADD COLUMN ip_access TEXT NOT NULL DEFAULT '';
    UPDATE user SET default_access_allow = 1 WHERE level = 'admin';
    CREATE INDEX user_level ON user (level);
    CREATE TABLE department (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, name_ru TEXT NOT NULL DEFAULT '');
    CREATE UNIQUE INDEX department_name ON department (name COLLATE NOCASE);
    CREATE TABLE department_employee (
        department INTEGER NOT NULL REFERENCES department(id) ON DELETE CASCADE,
        employee INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
        PRIMARY KEY (department, employee));
    CREATE INDEX department_employee_employee ON department_employee (employee);
    CREATE TABLE department_function (
        department INTEGER NOT NULL REFERENCES department(id) ON DELETE CASCADE,
        func TEXT NOT NULL, PRIMARY KEY (department, func))
    """)


def m004_money(db):
    """Every ISO 4217 currency, a provider's default currency, subaccounts per (client, provider,
    currency) with a credit limit, the append-only journal behind every balance, payment methods.

    Balances that exist already get an ``opening`` journal row, so each still equals its journal.
    """
    from ..billing.currency import currencies

    _run(db, """
    ALTER TABLE currency ADD COLUMN name_ru TEXT NOT NULL DEFAULT '';
    ALTER TABLE currency ADD COLUMN minor_units INTEGER NOT NULL DEFAULT 2;
    ALTER TABLE currency ADD COLUMN symbol TEXT NOT NULL DEFAULT '';
    ALTER TABLE currency ADD COLUMN active INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE project ADD COLUMN currency INTEGER NOT NULL DEFAULT 643;
    CREATE TABLE subaccount_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        project INTEGER NOT NULL REFERENCES project(id),
        currency INTEGER NOT NULL REFERENCES currency(id),
        balance INTEGER NOT NULL DEFAULT 0, creditlimit INTEGER NOT NULL DEFAULT 0,
        allowpostpaid INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,
        referer INTEGER REFERENCES account(id) ON DELETE SET NULL, incident_limit INTEGER,
        UNIQUE (account, project, currency));
    INSERT INTO subaccount_new (id, account, project, currency, balance, active)
        SELECT s.id, s.account, a.project, s.currency, s.balance,
               s.id = (SELECT min(o.id) FROM subaccount o WHERE o.account = s.account)
        FROM subaccount s JOIN account a ON a.id = s.account;
    DROP TABLE subaccount;
    ALTER TABLE subaccount_new RENAME TO subaccount;
    CREATE UNIQUE INDEX subaccount_active ON subaccount (account, project) WHERE active = 1;
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY, subaccount INTEGER NOT NULL, amount INTEGER NOT NULL,
        kind TEXT NOT NULL, ref_kind TEXT NOT NULL DEFAULT '', ref_id INTEGER,
        at TEXT NOT NULL, actor TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');
    CREATE INDEX journal_subaccount ON journal (subaccount, id);
    INSERT INTO journal (subaccount, amount, kind, at, actor)
        SELECT id, balance, 'opening', strftime('%Y-%m-%d %H:%M:%S', 'now'), 'migration'
        FROM subaccount WHERE balance != 0;
    CREATE TABLE paymethod (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, name_ru TEXT NOT NULL DEFAULT '',
        currency INTEGER NOT NULL REFERENCES currency(id),
        project INTEGER REFERENCES project(id),
        commission TEXT NOT NULL DEFAULT '0', minamount INTEGER, maxamount INTEGER,
        allowrefund INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,
        module TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '');
    CREATE TABLE paymethod_param (
        paymethod INTEGER NOT NULL REFERENCES paymethod(id) ON DELETE CASCADE,
        name TEXT NOT NULL, value TEXT NOT NULL, private INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (paymethod, name))
    """)
    for event in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER journal_no_{event.lower()} BEFORE {event} ON journal "
                   "BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END")
    known = {row[0] for row in db.execute("SELECT id FROM currency")}
    db.conn.executemany("INSERT INTO currency (id, iso, name) VALUES (?, ?, ?)",
                        [(c.numeric, c.iso, c.name_en) for c in currencies() if c.numeric not in known])
    db.conn.executemany("UPDATE currency SET name_ru = ?, minor_units = ? WHERE id = ?",
                        [(c.name_ru, c.minor_units, c.numeric) for c in currencies()])
    db.execute("UPDATE currency SET active = 1 WHERE id IN (643, 840, 978)")


def m005_lists_at_scale(db):
    """Every list holds at 100,000 clients: an index for each sortable and
    filterable column of each list, in the collation its sort uses (alpha
    columns NOCASE; SQLite ends every index with the id, the lists' tie
    break); substring indexes for the contains filters of the tables that
    grow with the clients; indexes for the housekeeping scans (outbox,
    sessions, keys, login failures) and the per-row counts of lists.

    Lists scoped to one owner (a client's history, orders, validations)
    need only their owner index: their sorts work on that owner's rows.
    """
    _run(db, """
    DROP INDEX idx_account_name;
    CREATE INDEX account_name ON account (name COLLATE NOCASE);
    CREATE INDEX account_project_id ON account (project);
    CREATE INDEX account_status ON account (status);
    CREATE INDEX account_registration_date ON account (registration_date COLLATE NOCASE);
    CREATE INDEX account_order_account ON account_order (account);
    CREATE INDEX ticket_subject ON ticket (subject COLLATE NOCASE);
    CREATE INDEX ticket_status ON ticket (status);
    CREATE INDEX ticket_updated ON ticket (updated COLLATE NOCASE);
    CREATE INDEX ticket_message_ticket ON ticket_message (ticket);
    CREATE INDEX outbox_due ON outbox (state, next_try);
    CREATE INDEX outbox_finished ON outbox (state, done);
    CREATE INDEX outbox_created ON outbox (created COLLATE NOCASE);
    CREATE INDEX outbox_kind ON outbox (kind COLLATE NOCASE);
    CREATE INDEX outbox_state ON outbox (state COLLATE NOCASE);
    CREATE INDEX outbox_attempts ON outbox (attempts);
    CREATE INDEX account_accountgroup_group ON account_accountgroup (accountgroup);
    CREATE INDEX accountgroup_condition_group ON accountgroup_condition (accountgroup);
    CREATE INDEX session_last_seen ON session (last_seen);
    CREATE INDEX login_key_expires ON login_key (expires);
    CREATE INDEX login_failure_at ON login_failure (at)
    """)
    for table, column in (("account", "name"), ("account", "email"), ("ticket", "subject")):
        search.create_index(db, table, column)


def m006_payments(db):
    """Payments with their history, expenses, and how much of each payment paid each expense.

    A payment is credited once: the journal takes one ``payment`` posting per
    payment (a partial unique index), whatever the code above it does.
    """
    _run(db, """
    CREATE TABLE payment (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL DEFAULT '',
        status INTEGER NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 9),
        account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        subaccount INTEGER NOT NULL REFERENCES subaccount(id) ON DELETE CASCADE,
        paymethod INTEGER NOT NULL REFERENCES paymethod(id),
        subaccountamount INTEGER NOT NULL, paymethodamount INTEGER NOT NULL,
        commissionamount INTEGER NOT NULL DEFAULT 0,
        usedamount INTEGER NOT NULL DEFAULT 0 CHECK (usedamount >= 0),
        randomnumber TEXT NOT NULL, externalid TEXT NOT NULL DEFAULT '', info TEXT NOT NULL DEFAULT '',
        restrictrefund INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '', documentnumber TEXT NOT NULL DEFAULT '', documentdate TEXT,
        createdate TEXT NOT NULL, paydate TEXT,
        sender INTEGER REFERENCES account(id) ON DELETE SET NULL,
        refund_of INTEGER REFERENCES payment(id) ON DELETE CASCADE);
    CREATE INDEX payment_account ON payment (account, id);
    CREATE INDEX payment_subaccount ON payment (subaccount, status);
    CREATE INDEX payment_refund_of ON payment (refund_of);
    CREATE TABLE payment_history (
        id INTEGER PRIMARY KEY,
        payment INTEGER NOT NULL REFERENCES payment(id) ON DELETE CASCADE,
        changedate TEXT NOT NULL, user TEXT NOT NULL, ip TEXT NOT NULL, action TEXT NOT NULL,
        description TEXT NOT NULL);
    CREATE INDEX payment_history_payment ON payment_history (payment, id);
    CREATE TABLE expense (
        id INTEGER PRIMARY KEY,
        account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        subaccount INTEGER NOT NULL REFERENCES subaccount(id) ON DELETE CASCADE,
        item INTEGER, operation TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '', name_ru TEXT NOT NULL DEFAULT '',
        amount INTEGER NOT NULL CHECK (amount > 0), taxamount INTEGER NOT NULL DEFAULT 0,
        taxrate TEXT NOT NULL DEFAULT '0', discount INTEGER, discountamount INTEGER NOT NULL DEFAULT 0,
        notpayd INTEGER NOT NULL CHECK (notpayd >= 0 AND notpayd <= amount),
        realdate TEXT NOT NULL, cdate TEXT NOT NULL, postpaid INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX expense_subaccount ON expense (subaccount, realdate, id);
    CREATE INDEX expense_account ON expense (account, id);
    CREATE TABLE payment_expense (
        payment INTEGER NOT NULL REFERENCES payment(id) ON DELETE CASCADE,
        expense INTEGER NOT NULL REFERENCES expense(id) ON DELETE CASCADE,
        amount INTEGER NOT NULL CHECK (amount > 0),
        PRIMARY KEY (payment, expense));
    CREATE INDEX payment_expense_expense ON payment_expense (expense);
    CREATE UNIQUE INDEX journal_payment_credit ON journal (ref_id) WHERE kind = 'payment' AND ref_kind = 'payment'
    """)


def m007_money_rules(db):
    """The money rules' directories: clients' discounts, tax rules and currency rates.

    Percents and rates are exact decimal text (``'18.5'``), never REAL; a fixed
    discount is integer minor units with its currency.  A set a rule is limited
    to (product types, tariffs, order periods) is comma-separated text, NULL for
    "all": rules.py reads a client's few rules whole and never searches inside one.
    """
    _run(db, """
    CREATE TABLE discount (
        id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        project INTEGER NOT NULL REFERENCES project(id), name TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')), percent TEXT, amount INTEGER,
        currency INTEGER REFERENCES currency(id), priority INTEGER NOT NULL DEFAULT 0,
        actiontype TEXT NOT NULL DEFAULT 'all', periods TEXT, itemtypes TEXT, pricelists TEXT,
        fromdate TEXT, todate TEXT, note TEXT NOT NULL DEFAULT '',
        CHECK ((kind = 'percent') = (percent IS NOT NULL AND amount IS NULL)),
        CHECK ((kind = 'fixed') = (amount IS NOT NULL AND currency IS NOT NULL)));
    CREATE INDEX discount_account ON discount (account);
    CREATE TABLE taxrule (
        id INTEGER PRIMARY KEY, project INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,
        account INTEGER REFERENCES account(id) ON DELETE CASCADE,
        accountgroup INTEGER REFERENCES accountgroup(id) ON DELETE CASCADE,
        country INTEGER, state INTEGER REFERENCES state(id),
        taxrate TEXT NOT NULL, included INTEGER NOT NULL DEFAULT 1, itemtypes TEXT,
        CHECK (state IS NULL OR country IS NOT NULL));
    CREATE INDEX taxrule_project ON taxrule (project);
    CREATE INDEX taxrule_account ON taxrule (account);
    CREATE TABLE currencyrate (
        id INTEGER PRIMARY KEY, account INTEGER REFERENCES account(id) ON DELETE CASCADE,
        currency_base INTEGER NOT NULL REFERENCES currency(id),
        currency_relate INTEGER NOT NULL REFERENCES currency(id),
        rate TEXT NOT NULL, amount TEXT NOT NULL DEFAULT '1', ratedate TEXT NOT NULL,
        CHECK (currency_base != currency_relate));
    CREATE INDEX currencyrate_pair ON currencyrate (currency_base, currency_relate, ratedate)
    """)


def m008_payment_items(db):
    """The items of a payment's invoice (payment.orderinfo): what the document says the payment is for.

    ``cost`` is integer minor units of the payment method's currency, like the payment's own amount.
    """
    db.executescript("""
    CREATE TABLE payment_item (
        id INTEGER PRIMARY KEY,
        payment INTEGER NOT NULL REFERENCES payment(id) ON DELETE CASCADE,
        name TEXT NOT NULL, cost INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0));
    CREATE INDEX payment_item_payment ON payment_item (payment, id)
    """)


def m009_catalog(step):
    """The catalog: product types (the usual ones seeded), tariffs and their add-ons (child tariffs), prices per
    period and currency in minor units, tariff history, data centres, OS templates and recipes a tariff offers."""
    step.script("""
    CREATE TABLE itemtype (
        {id}, intname TEXT NOT NULL, name TEXT NOT NULL, name_ru TEXT NOT NULL DEFAULT '',
        autodeleteperiod BIGINT NOT NULL DEFAULT 30, clientdelete BIGINT NOT NULL DEFAULT 0);
    CREATE UNIQUE INDEX itemtype_intname ON itemtype (intname);
    CREATE TABLE pricelist (
        {id}, itemtype BIGINT NOT NULL REFERENCES itemtype(id),
        project BIGINT NOT NULL REFERENCES project(id),
        parent BIGINT REFERENCES pricelist(id) ON DELETE CASCADE,
        name TEXT NOT NULL, name_ru TEXT NOT NULL DEFAULT '', intname TEXT NOT NULL DEFAULT '',
        billdaily BIGINT NOT NULL DEFAULT 0, processingmodule TEXT NOT NULL DEFAULT '',
        allowchange BIGINT NOT NULL DEFAULT 1, returnpolicy BIGINT NOT NULL DEFAULT 0,
        active BIGINT NOT NULL DEFAULT 1,
        addontype BIGINT, billtype BIGINT, addonmin BIGINT, addonmax BIGINT, addonstep BIGINT,
        addonlimit BIGINT, measure TEXT NOT NULL DEFAULT '', statperiod TEXT NOT NULL DEFAULT '');
    CREATE INDEX pricelist_itemtype ON pricelist (itemtype);
    CREATE INDEX pricelist_parent ON pricelist (parent, id);
    CREATE INDEX pricelist_name ON pricelist (name);
    CREATE TABLE pricelist_price (
        pricelist BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        period BIGINT NOT NULL, currency BIGINT NOT NULL REFERENCES currency(id),
        cost BIGINT NOT NULL CHECK (cost >= 0), PRIMARY KEY (pricelist, period, currency));
    CREATE TABLE pricelist_overage (
        pricelist BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        currency BIGINT NOT NULL REFERENCES currency(id),
        cost BIGINT NOT NULL CHECK (cost >= 0), PRIMARY KEY (pricelist, currency));
    CREATE TABLE enumerationitem (
        {id}, pricelist BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        intname TEXT NOT NULL, name TEXT NOT NULL);
    CREATE UNIQUE INDEX enumerationitem_value ON enumerationitem (pricelist, intname);
    CREATE TABLE pricelist_history (
        {id}, pricelist BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        changedate TEXT NOT NULL, "user" TEXT NOT NULL, ip TEXT NOT NULL, action TEXT NOT NULL,
        description TEXT NOT NULL);
    CREATE INDEX pricelist_history_pricelist ON pricelist_history (pricelist, id);
    CREATE TABLE datacenter ({id}, name TEXT NOT NULL, name_ru TEXT NOT NULL DEFAULT '', intname TEXT NOT NULL);
    CREATE TABLE ostemplate ({id}, name TEXT NOT NULL, name_ru TEXT NOT NULL DEFAULT '', intname TEXT NOT NULL);
    CREATE TABLE recipe ({id}, name TEXT NOT NULL, name_ru TEXT NOT NULL DEFAULT '', intname TEXT NOT NULL);
    CREATE UNIQUE INDEX datacenter_intname ON datacenter (intname);
    CREATE UNIQUE INDEX ostemplate_intname ON ostemplate (intname);
    CREATE UNIQUE INDEX recipe_intname ON recipe (intname);
    CREATE TABLE pricelist_datacenter (
        pricelist BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        datacenter BIGINT NOT NULL REFERENCES datacenter(id) ON DELETE CASCADE, PRIMARY KEY (pricelist, datacenter));
    CREATE TABLE pricelist_ostemplate (
        pricelist BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        ostemplate BIGINT NOT NULL REFERENCES ostemplate(id) ON DELETE CASCADE, PRIMARY KEY (pricelist, ostemplate));
    CREATE TABLE pricelist_recipe (
        pricelist BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        recipe BIGINT NOT NULL REFERENCES recipe(id) ON DELETE CASCADE, PRIMARY KEY (pricelist, recipe))
    """)
    for intname, name, name_ru in (("vds", "Virtual private server", "Виртуальный сервер"),
                                   ("dedic", "Dedicated server", "Выделенный сервер"),
                                   ("vhost", "Shared hosting", "Виртуальный хостинг"),
                                   ("soft", "Software licence", "Лицензия на ПО"),
                                   ("platform", "Platform licence", "Лицензия на платформу"),
                                   ("domain", "Domain name", "Доменное имя")):
        step.execute("INSERT INTO itemtype (intname, name, name_ru) VALUES (?, ?, ?)", (intname, name, name_ru))


def m010_services(step):
    """Services: items a client owns (add-ons are child items holding their values), their module
    parameters, the basket (billorder and its lines), and the module commands still to be run.

    ``item.cost`` is the price of one ``period`` with the add-ons, before discount, in the subaccount's
    currency.  A period charge (open, prolong, daily) is unique per (item, operation, cdate) and an
    order's ``remoteid`` per client: the business keys are constraints, not only checks in code.
    """
    step.script("""
    CREATE TABLE item (
        {id}, account BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        subaccount BIGINT NOT NULL REFERENCES subaccount(id),
        pricelist BIGINT NOT NULL REFERENCES pricelist(id),
        itemtype BIGINT NOT NULL REFERENCES itemtype(id),
        parent BIGINT REFERENCES item(id) ON DELETE CASCADE,
        status BIGINT NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 5),
        service_status BIGINT NOT NULL DEFAULT 0,
        period BIGINT NOT NULL DEFAULT 1, autoprolong BIGINT, cost BIGINT NOT NULL DEFAULT 0 CHECK (cost >= 0),
        createdate TEXT NOT NULL, opendate TEXT, expiredate TEXT, suspenddate TEXT, deletedate TEXT,
        autosuspend BIGINT NOT NULL DEFAULT 0,
        domain TEXT NOT NULL DEFAULT '', ip TEXT NOT NULL DEFAULT '', username TEXT NOT NULL DEFAULT '',
        serverid TEXT NOT NULL DEFAULT '',
        datacenter BIGINT REFERENCES datacenter(id) ON DELETE SET NULL,
        ostemplate BIGINT REFERENCES ostemplate(id) ON DELETE SET NULL,
        recipe BIGINT REFERENCES recipe(id) ON DELETE SET NULL,
        processingmodule TEXT NOT NULL DEFAULT '', remoteid TEXT,
        intvalue BIGINT, enumerationitem BIGINT REFERENCES enumerationitem(id));
    CREATE UNIQUE INDEX item_remoteid ON item (account, remoteid);
    CREATE INDEX item_account ON item (account, itemtype, id);
    CREATE INDEX item_itemtype ON item (itemtype, status, id);
    CREATE INDEX item_parent ON item (parent, pricelist);
    CREATE INDEX item_expiredate ON item (expiredate);
    CREATE INDEX item_pricelist ON item (pricelist);
    CREATE TABLE item_param (
        item BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,
        name TEXT NOT NULL, value TEXT NOT NULL, crypted BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (item, name));
    CREATE TABLE billorder (
        {id}, account BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        subaccount BIGINT NOT NULL REFERENCES subaccount(id),
        status BIGINT NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 3),
        createdate TEXT NOT NULL, paydate TEXT);
    CREATE INDEX billorder_account ON billorder (account, status, id);
    CREATE TABLE billorder_line (
        {id}, billorder BIGINT NOT NULL REFERENCES billorder(id) ON DELETE CASCADE,
        item BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,
        operation TEXT NOT NULL CHECK (operation IN ('open', 'prolong', 'changeaddon')),
        period BIGINT, addon BIGINT REFERENCES item(id) ON DELETE CASCADE, value BIGINT,
        amount BIGINT NOT NULL CHECK (amount >= 0), discount BIGINT, discountamount BIGINT NOT NULL DEFAULT 0,
        taxrate TEXT NOT NULL DEFAULT '0', taxamount BIGINT NOT NULL DEFAULT 0, cost BIGINT NOT NULL CHECK (cost >= 0));
    CREATE INDEX billorder_line_billorder ON billorder_line (billorder, id);
    CREATE INDEX billorder_line_item ON billorder_line (item);
    ALTER TABLE payment ADD COLUMN billorder BIGINT REFERENCES billorder(id) ON DELETE SET NULL;
    CREATE TABLE runningoperation (
        {id}, item BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,
        processingmodule TEXT NOT NULL DEFAULT '', operation TEXT NOT NULL, params TEXT NOT NULL DEFAULT '',
        createdate TEXT NOT NULL, trycount BIGINT NOT NULL DEFAULT 0, next_try TEXT NOT NULL DEFAULT '',
        errorxml TEXT NOT NULL DEFAULT '', manual BIGINT NOT NULL DEFAULT 0);
    CREATE INDEX runningoperation_item ON runningoperation (item, id);
    CREATE INDEX runningoperation_due ON runningoperation (manual, next_try);
    CREATE UNIQUE INDEX expense_period_charge ON expense (item, operation, cdate)
        WHERE operation IN ('open', 'prolong', 'billdaily')
    """)


def m011_processing_modules(step):
    """Processing modules as staff set them up (a name, the module that does the work, its connection
    parameters -- crypted ones encrypted), and tasks: what a person must do when a module could not.

    ``item.processingmodule`` and ``pricelist.processingmodule`` hold a ``processingmodule.id`` as text.
    A task keeps the id of the running operation it is about even once that operation is gone.
    """
    step.script("""
    CREATE TABLE processingmodule (
        {id}, name TEXT NOT NULL, module TEXT NOT NULL, createdate TEXT NOT NULL);
    CREATE TABLE processingmodule_param (
        processingmodule BIGINT NOT NULL REFERENCES processingmodule(id) ON DELETE CASCADE,
        name TEXT NOT NULL, value TEXT NOT NULL, crypted BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (processingmodule, name));
    CREATE TABLE task (
        {id}, item BIGINT REFERENCES item(id) ON DELETE CASCADE, runningoperation BIGINT,
        type TEXT NOT NULL, status BIGINT NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),
        params TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', createdate TEXT NOT NULL, closedate TEXT);
    CREATE INDEX task_status ON task (status, id);
    CREATE INDEX task_runningoperation ON task (runningoperation, status)
    """)


def m012_nightly(step):
    """The nightly run's record of each (day, step) it ran, and the notices it sent per service and day
    (each sent once: the key is the primary key)."""
    step.script("""
    CREATE TABLE nightly_run (
        {id}, day TEXT NOT NULL, step TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
        done BIGINT NOT NULL DEFAULT 0, skipped BIGINT NOT NULL DEFAULT 0, failed BIGINT NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '');
    CREATE UNIQUE INDEX nightly_run_step ON nightly_run (day, step);
    CREATE TABLE item_notice (
        item BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE, kind TEXT NOT NULL, day TEXT NOT NULL,
        PRIMARY KEY (item, kind, day));
    CREATE INDEX item_suspended ON item (status, suspenddate)
    """)


def m013_statistics(step):
    """Usage of statistics add-ons per service, add-on and day, and the day's charge for it: one per
    (service, add-on, day) -- the key is the primary key; a forced recount replaces the row."""
    step.script("""
    CREATE TABLE itemstat (
        item BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,
        addon BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        statdate TEXT NOT NULL, value BIGINT NOT NULL CHECK (value >= 0), PRIMARY KEY (item, addon, statdate));
    CREATE TABLE itemstat_charge (
        item BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,
        addon BIGINT NOT NULL REFERENCES pricelist(id) ON DELETE CASCADE,
        statdate TEXT NOT NULL, usage BIGINT NOT NULL, units BIGINT NOT NULL, amount BIGINT NOT NULL,
        expense BIGINT REFERENCES expense(id) ON DELETE SET NULL, PRIMARY KEY (item, addon, statdate))
    """)


MIGRATIONS = [m001_accounts, m002_clients, m003_employees, m004_money, m005_lists_at_scale, m006_payments,
              m007_money_rules, m008_payment_items, m009_catalog,
              m010_services, m011_processing_modules, m012_nightly, m013_statistics]
POSTGRES_BASELINE = 8       # the version postgres.sql is; MIGRATIONS past it take a Step
_LOCK = 0x62696c6c          # the advisory lock two daemons starting at once take to migrate one at a time


class Step:
    """What a migration past the PostgreSQL baseline works with, on either store."""

    def __init__(self, conn, dialect):
        self.conn, self.dialect = conn, dialect

    def execute(self, sql, args=()):
        return self.conn.execute(sql, args)

    def script(self, sql):
        """Each ``;``-separated statement of ``sql`` in turn, ``{id}`` standing for the dialect's key column."""
        for statement in sql.replace("{id}", self.dialect.id_column).split(";"):
            if statement.strip():
                self.conn.execute(statement)


def apply(conn, done=lambda version: None):
    """Bring the database at ``conn`` up to the newest schema version.

    ``done(version)`` is called after each committed step (progress for an admin).
    """
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise RuntimeError(f"database schema version {current} is newer than this "
                           f"billmgr ({len(MIGRATIONS)}); upgrade billmgr")
    db, step = sqlite_utils.Database(conn), Step(conn, dialect.SQLite)
    for version, migration in enumerate(MIGRATIONS[current:], current + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            migration(db if version <= POSTGRES_BASELINE else step)
            conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        done(version)


def apply_postgres(conn, done=lambda version: None):
    """Bring the PostgreSQL database at ``conn`` (autocommit) up to the newest schema version."""
    from .postgres import Connection

    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
            _create_baseline(conn)
        current = conn.execute("SELECT version FROM schema_version").fetchone()[0]
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    if current > len(MIGRATIONS):
        raise RuntimeError(f"database schema version {current} is newer than this "
                           f"billmgr ({len(MIGRATIONS)}); upgrade billmgr")
    for version, migration in enumerate(MIGRATIONS[current:], current + 1):
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            if conn.execute("SELECT version FROM schema_version").fetchone()[0] < version:
                migration(Step(Connection(conn), dialect.PostgreSQL))
                conn.execute("UPDATE schema_version SET version = %s", (version,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        done(version)


def _create_baseline(conn):
    """postgres.sql, with the rows the SQLite migrations to the same version put in."""
    conn.execute(resources.files(__package__).joinpath("postgres.sql").read_text())
    model = sqlite3.connect(":memory:", isolation_level=None)
    try:
        model_db = sqlite_utils.Database(model)
        for migration in MIGRATIONS[:POSTGRES_BASELINE]:
            migration(model_db)
        tables = [name for (name,) in model.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE '%fts5%' AND name NOT LIKE '%_search_%' ORDER BY rowid")]
        for table in tables:
            cursor = model.execute(f'SELECT * FROM "{table}"')
            rows = cursor.fetchall()
            if not rows:
                continue
            columns = ", ".join(f'"{d[0]}"' for d in cursor.description)
            with conn.cursor().copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            if "id" in (d[0] for d in cursor.description):
                conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                             f'(SELECT max(id) FROM "{table}"))')
    finally:
        model.close()
    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (POSTGRES_BASELINE,))
