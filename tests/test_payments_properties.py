"""No money is created or lost: random payments, credits, expenses, refunds and deletions against one
daemon keep every check clean and the sum of balances equal to credited payments less live expenses
and refunds; and racing credits with charges on one subaccount end at the exact balance."""

import math
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import pytest
from conftest import Daemon
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from reliability import PHASES, scaled


def call(daemon, func, *params):
    """The reply's fields as a dict, or its error type under "error"."""
    doc = daemon.call(func, *params)
    if "error" in doc:
        return {"error": doc["error"]["$type"]}
    return {k: v["$"] for k, v in doc.items() if isinstance(v, dict) and "$" in v}


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("books")).start()
    d.method = call(d, "paymethod.edit", "name=Wire", "commission=3", "allowrefund=on", "sok=ok")["id"]
    d.opened = 0
    yield d
    d.stop()


def half_up(value):
    """A non-negative Fraction of minor units rounded half up, as the one rounding rule does."""
    return math.floor(value + Fraction(1, 2))


class Model:
    """What should be on the books for one example's own clients: the pool of live clients (account ->
    its subaccount), each subaccount's balance, who owns each payment (and what it credits) and each
    live expense (and what it charged), and each client's discounts (id -> (kind, value, priority, actiontype, window)).
    Each example opens its own clients, so what hypothesis draws never depends on an earlier example."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.clients, self.balance, self.payments, self.expenses, self.discounts = {}, {}, {}, {}, {}
        for _ in range(2):
            self.open_client()

    def open_client(self):
        self.daemon.opened += 1
        account = self.daemon.new_account(f"books{self.daemon.opened}@example.com")
        subaccount = int(call(self.daemon, "subaccount.edit", f"plid={account}", "sok=ok")["id"])
        self.clients[account], self.balance[subaccount], self.discounts[account] = subaccount, 0, {}

    def merge(self, source, target):
        """account.join: the source's balance, discounts, payments and expenses are the target's."""
        self.balance[self.clients[target]] += self.balance.pop(self.clients.pop(source))
        self.discounts[target] |= self.discounts.pop(source)
        for owned in (self.payments, self.expenses):
            owned.update({elid: (target, amount) for elid, (owner, amount) in owned.items() if owner == source})

    @staticmethod
    def owners(owned):
        return {elid: owner for elid, (owner, _) in owned.items()}

    def discounted(self):
        """The clients in the pool that have discounts."""
        return sorted(account for account in self.clients if self.discounts[account])

    def discount_off(self, account, price, operation):
        """(discount id or None, minor units off) for an expense of ``price`` minor units: DOMAIN.md's
        choice among one client's personal discounts (the highest priority, then the most off, then
        the oldest) for an order or a renewal in its date window (one without dates is always in it); other
        operations get none."""
        if operation not in ("open", "prolong"):
            return None, 0
        fitting = [(priority, min(price, half_up(price * Fraction(value) / 100) if kind == "percent"
                                  else value), -elid)
                   for elid, (kind, value, priority, actions, window) in self.discounts[account].items()
                   if actions in ("all", operation) and window in ("open", "current")]
        if not fitting:
            return None, 0
        _, off, elid = max(fitting)
        return -elid, off


WINDOWS = {"open": ("", ""), "current": ("2000-01-01", "2100-12-31"), "past": ("2000-01-01", "2001-01-01"),
           "future": ("2100-01-01", "")}


def discount_spec():
    """(kind, value, priority, actiontype, window): a percent (text, up to four places) or a fixed amount
    (minor units), and the form fields that say so."""
    percent = st.one_of(st.integers(0, 100).map(str), st.decimals(0, 100, places=4).map(str))
    value = st.one_of(st.tuples(st.just("percent"), percent), st.tuples(st.just("fixed"), st.integers(0, 20000)))
    return st.tuples(value, st.integers(-3, 3), st.sampled_from(("all", "open", "prolong")),
                     st.sampled_from(tuple(WINDOWS))).map(lambda t: (*t[0], *t[1:]))


def discount_fields(kind, value, priority, actiontype, window):
    first, last = WINDOWS[window]
    amount = [f"percentage={value}"] if kind == "percent" else [f"amount={value // 100}.{value % 100:02d}"]
    return [f"type={kind}", *amount, f"priority={priority}", f"actiontype={actiontype}", f"fromdate={first}",
            f"todate={last}", "sok=ok"]


def test_no_money_is_created_or_lost(books):
    class Books(RuleBasedStateMachine):
        """Random payments, credits, discounted expenses, refunds, deletions and merges against the Model."""

        def __init__(self):
            super().__init__()
            self.model = Model(books)

        @rule()
        def new_client(self):
            self.model.open_client()

        @rule(data=st.data(), amount=st.integers(100, 50000))
        def add_payment(self, data, amount):
            account = data.draw(st.sampled_from(sorted(self.model.clients)))
            reply = call(books, "payment.add", f"plid={account}", f"paymethod={books.method}",
                         f"amount={amount // 100}.{amount % 100:02d}", "sok=ok")
            self.model.payments[int(reply["payment_id"])] = (account, amount - half_up(Fraction(amount * 3, 100)))

        @precondition(lambda self: self.model.payments)
        @rule(data=st.data())
        def setpaid(self, data):
            payment = data.draw(st.sampled_from(sorted(self.model.payments)))
            before = books.stored("SELECT status FROM payment WHERE id = ?", payment)[0][0]
            reply = call(books, "payment.setpaid", f"elid={payment}")
            assert ("error" in reply) == (before not in (1, 2, 3, 8))
            if "error" not in reply:
                account, credited = self.model.payments[payment]
                self.model.balance[self.model.clients[account]] += credited

        @rule(data=st.data(), amount=st.integers(1, 30000), postpaid=st.booleans(),
              operation=st.sampled_from(("open", "prolong", "manual")))
        def expense(self, data, amount, postpaid, operation):
            account = data.draw(st.sampled_from(sorted(self.model.clients)))
            subaccount = self.model.clients[account]
            discount, off = self.model.discount_off(account, amount, operation)
            reply = call(books, "subaccount.expense.edit", f"plid={account}", f"subaccount={subaccount}",
                         f"amount={amount / 100:.2f}", f"operation={operation}",
                         *(["postpaid=on"] if postpaid else []), "sok=ok")
            charge = amount - off
            if off == amount:
                assert reply.get("error") == "value"
            elif not postpaid and self.model.balance[subaccount] < charge:
                assert reply.get("error") == "balance"
            else:
                expense = int(reply["id"])
                assert books.stored("SELECT amount, discount, discountamount, notpayd <= amount FROM expense "
                              "WHERE id = ?", expense) == [(charge, discount, off, 1)]
                self.model.expenses[expense] = (account, charge)
                self.model.balance[subaccount] -= charge

        @precondition(lambda self: self.model.expenses)
        @rule(data=st.data())
        def delete_expense(self, data):
            expense = data.draw(st.sampled_from(sorted(self.model.expenses)))
            assert "error" not in call(books, "subaccount.expense.delete", f"elid={expense}")
            account, charge = self.model.expenses.pop(expense)
            self.model.balance[self.model.clients[account]] += charge

        @precondition(lambda self: self.model.payments)
        @rule(data=st.data(), share=st.integers(1, 100))
        def refund(self, data, share):
            payment = data.draw(st.sampled_from(sorted(self.model.payments)))
            left = call(books, "payment.refund", f"elid={payment}")["amount"]
            minor = int(left.replace(".", "")) * share // 100
            status = books.stored("SELECT status FROM payment WHERE id = ?", payment)[0][0]
            reply = call(books, "payment.refund", f"elid={payment}", f"amount={minor / 100:.2f}", "sok=ok")
            if status == 4 and minor > 0:
                assert "error" not in reply
                self.model.balance[self.model.clients[self.model.payments[payment][0]]] -= minor
            else:
                assert reply.get("error") == "value"

        @precondition(lambda self: self.model.payments)
        @rule(data=st.data())
        def delete_payment(self, data):
            payment = data.draw(st.sampled_from(sorted(self.model.payments)))
            status = books.stored("SELECT status FROM payment WHERE id = ?", payment)[0][0]
            reply = call(books, "payment.delete", f"elid={payment}")
            assert ("error" in reply) == (status in (4, 5, 6))
            if "error" not in reply:
                del self.model.payments[payment]

        @rule(data=st.data(), spec=discount_spec())
        def add_discount(self, data, spec):
            account = data.draw(st.sampled_from(sorted(self.model.clients)))
            reply = call(books, "account.discount.add", f"plid={account}", *discount_fields(*spec))
            self.model.discounts[account][int(reply["id"])] = spec

        @precondition(lambda self: self.model.discounted())
        @rule(data=st.data(), spec=discount_spec())
        def edit_discount(self, data, spec):
            account = data.draw(st.sampled_from(self.model.discounted()))
            elid = data.draw(st.sampled_from(sorted(self.model.discounts[account])))
            assert "error" not in call(books, "account.discount.edit", f"elid={elid}", *discount_fields(*spec))
            self.model.discounts[account][elid] = spec

        @precondition(lambda self: self.model.discounted())
        @rule(data=st.data())
        def delete_discount(self, data):
            account = data.draw(st.sampled_from(self.model.discounted()))
            elid = data.draw(st.sampled_from(sorted(self.model.discounts[account])))
            assert "error" not in call(books, "account.discount.delete", f"elid={elid}")
            del self.model.discounts[account][elid]

        @precondition(lambda self: len(self.model.clients) >= 2)
        @rule(data=st.data())
        def merge(self, data):
            source, target = data.draw(st.lists(st.sampled_from(sorted(self.model.clients)), min_size=2, max_size=2,
                                                unique=True))
            assert "error" not in call(books, "account.join", f"elid={source}", f"account={target}", "sok=ok")
            self.model.merge(source, target)

        @invariant()
        def books_balance(self):
            assert books.call("ledger.check", out="JSONdata").get("elem", []) == []
            # per client and in all: balances == credited payments - live expenses - refunds
            totals = books.stored(
                "SELECT a.id, (SELECT coalesce(sum(balance), 0) FROM subaccount WHERE account = a.id), "
                "(SELECT coalesce(sum(subaccountamount), 0) FROM payment WHERE account = a.id AND refund_of IS NULL "
                "AND status IN (4, 5, 6)), (SELECT coalesce(sum(amount), 0) FROM expense WHERE account = a.id), "
                "(SELECT coalesce(-sum(subaccountamount), 0) FROM payment WHERE account = a.id "
                "AND refund_of IS NOT NULL) FROM account a")
            for _, balance, credited, live, refunded in totals:
                assert balance == credited - live - refunded
            [(balances, credited, live, refunded)] = books.stored(
                "SELECT (SELECT coalesce(sum(balance), 0) FROM subaccount), "
                "(SELECT coalesce(sum(subaccountamount), 0) FROM payment WHERE refund_of IS NULL "
                "AND status IN (4, 5, 6)), (SELECT coalesce(sum(amount), 0) FROM expense), "
                "(SELECT coalesce(-sum(subaccountamount), 0) FROM payment WHERE refund_of IS NOT NULL)")
            assert balances == credited - live - refunded
            # the model's predictions: each client's balance and what it owns
            pool = ",".join("?" * len(self.model.clients))
            assert dict(books.stored(f"SELECT id, balance FROM subaccount WHERE account IN ({pool})",
                               *self.model.clients)) == self.model.balance
            assert dict(books.stored("SELECT id, account FROM expense WHERE account IN (%s)" % pool,
                               *self.model.clients)) == self.model.owners(self.model.expenses)
            assert dict(books.stored("SELECT id, account FROM payment WHERE refund_of IS NULL AND account IN (%s)"
                               % pool, *self.model.clients)) == self.model.owners(self.model.payments)
            # a merged client's emptied subaccount is gone, its journal sums to nothing
            assert books.stored("SELECT subaccount, sum(amount) FROM journal WHERE subaccount NOT IN "
                          "(SELECT id FROM subaccount) GROUP BY subaccount HAVING sum(amount) != 0") == []

    Books.TestCase.settings = settings(max_examples=scaled(6), stateful_step_count=30, deadline=None, phases=PHASES,
                                       suppress_health_check=list(HealthCheck))
    Books.TestCase().runTest()


def test_racing_credits_and_charges_end_at_the_exact_balance(books):
    account, subaccount = books.new_account("race@example.com"), None
    subaccount = call(books, "subaccount.edit", f"plid={account}", "sok=ok")["id"]
    start = books.stored("SELECT balance FROM subaccount WHERE id = ?", subaccount)[0][0]
    payments = [call(books, "payment.add", f"plid={account}", f"paymethod={books.method}", "amount=10",
                     "sok=ok")["payment_id"] for _ in range(4)]

    def setpaid_all(_):
        return sum("error" not in call(books, "payment.setpaid", f"elid={p}") for p in payments)

    def charge(_):
        return "error" not in call(books, "subaccount.expense.edit", f"plid={account}", f"subaccount={subaccount}",
                                   "amount=1.25", "postpaid=on", "sok=ok")

    with ThreadPoolExecutor(12) as pool:   # each call is its own mgrctl process
        credits = pool.map(setpaid_all, range(8))
        charges = pool.map(charge, range(8))
        credited, charged = sum(credits), sum(charges)
    assert (credited, charged) == (4, 8)
    assert books.stored("SELECT balance FROM subaccount WHERE id = ?", subaccount)[0][0] == (
        start + 4 * 970 - 8 * 125)
    assert books.stored("SELECT count(*) FROM journal WHERE kind = 'payment' AND ref_id IN (?, ?, ?, ?)",
                  *payments) == [(4,)]
    assert books.call("ledger.check", out="JSONdata").get("elem", []) == []
