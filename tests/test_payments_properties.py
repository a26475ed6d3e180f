"""No money is created or lost: random payments, credits, expenses, refunds and deletions against one
daemon keep every check clean and the sum of balances equal to credited payments less live expenses
and refunds; and racing credits with charges on one subaccount end at the exact balance."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Daemon
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule


def stored(daemon, sql, *args):
    with sqlite3.connect(daemon.db) as db:
        return db.execute(sql, args).fetchall()


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
    d.clients = []
    for n in range(2):
        account = d.new_account(f"books{n}@example.com")
        subaccount = call(d, "subaccount.edit", f"plid={account}", "sok=ok")["id"]
        d.clients.append((account, subaccount))
    yield d
    d.stop()


def test_no_money_is_created_or_lost(books):
    class Books(RuleBasedStateMachine):
        """A model of what should be on the books: ids of payments and live expenses, refunds made."""

        def __init__(self):
            super().__init__()
            self.payments, self.expenses = [], []

        @rule(client=st.sampled_from(range(2)), amount=st.integers(100, 50000))
        def add_payment(self, client, amount):
            account, _ = books.clients[client]
            reply = call(books, "payment.add", f"plid={account}", f"paymethod={books.method}",
                         f"amount={amount // 100}.{amount % 100:02d}", "sok=ok")
            self.payments.append(int(reply["payment_id"]))

        @precondition(lambda self: self.payments)
        @rule(data=st.data())
        def setpaid(self, data):
            payment = data.draw(st.sampled_from(self.payments))
            before = stored(books, "SELECT status FROM payment WHERE id = ?", payment)[0][0]
            reply = call(books, "payment.setpaid", f"elid={payment}")
            assert ("error" in reply) == (before not in (1, 2, 3, 8))

        @rule(client=st.sampled_from(range(2)), amount=st.integers(1, 30000), postpaid=st.booleans())
        def expense(self, client, amount, postpaid):
            account, subaccount = books.clients[client]
            balance = stored(books, "SELECT balance FROM subaccount WHERE id = ?", subaccount)[0][0]
            reply = call(books, "subaccount.expense.edit", f"plid={account}", f"subaccount={subaccount}",
                         f"amount={amount / 100:.2f}", *(["postpaid=on"] if postpaid else []), "sok=ok")
            if "error" in reply:
                assert reply["error"] == "balance" and not postpaid and balance < amount
            else:
                assert postpaid or balance >= amount
                self.expenses.append(int(reply["id"]))

        @precondition(lambda self: self.expenses)
        @rule(data=st.data())
        def delete_expense(self, data):
            expense = data.draw(st.sampled_from(self.expenses))
            assert "error" not in call(books, "subaccount.expense.delete", f"elid={expense}")
            self.expenses.remove(expense)

        @precondition(lambda self: self.payments)
        @rule(data=st.data(), share=st.integers(1, 100))
        def refund(self, data, share):
            payment = data.draw(st.sampled_from(self.payments))
            left = call(books, "payment.refund", f"elid={payment}")["amount"]
            minor = int(left.replace(".", "")) * share // 100
            status = stored(books, "SELECT status FROM payment WHERE id = ?", payment)[0][0]
            reply = call(books, "payment.refund", f"elid={payment}", f"amount={minor / 100:.2f}", "sok=ok")
            if status == 4 and minor > 0:
                assert "error" not in reply
            else:
                assert reply.get("error") == "value"

        @precondition(lambda self: self.payments)
        @rule(data=st.data())
        def delete_payment(self, data):
            payment = data.draw(st.sampled_from(self.payments))
            status = stored(books, "SELECT status FROM payment WHERE id = ?", payment)[0][0]
            reply = call(books, "payment.delete", f"elid={payment}")
            assert ("error" in reply) == (status in (4, 5, 6))
            if "error" not in reply:
                self.payments.remove(payment)

        @invariant()
        def books_balance(self):
            assert books.call("ledger.check", out="JSONdata").get("elem", []) == []
            [(balances, credited, live, refunded)] = stored(
                books, "SELECT (SELECT coalesce(sum(balance), 0) FROM subaccount), "
                "(SELECT coalesce(sum(subaccountamount), 0) FROM payment WHERE refund_of IS NULL "
                "AND status IN (4, 5, 6)), (SELECT coalesce(sum(amount), 0) FROM expense), "
                "(SELECT coalesce(-sum(subaccountamount), 0) FROM payment WHERE refund_of IS NOT NULL)")
            assert balances == credited - live - refunded
            assert set(self.expenses) <= {e for (e,) in stored(books, "SELECT id FROM expense")}

    Books.TestCase.settings = settings(max_examples=6, stateful_step_count=10, deadline=None,
                                       suppress_health_check=list(HealthCheck))
    Books.TestCase().runTest()


def test_racing_credits_and_charges_end_at_the_exact_balance(books):
    account, subaccount = books.new_account("race@example.com"), None
    subaccount = call(books, "subaccount.edit", f"plid={account}", "sok=ok")["id"]
    start = stored(books, "SELECT balance FROM subaccount WHERE id = ?", subaccount)[0][0]
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
    assert stored(books, "SELECT balance FROM subaccount WHERE id = ?", subaccount)[0][0] == (
        start + 4 * 970 - 8 * 125)
    assert stored(books, "SELECT count(*) FROM journal WHERE kind = 'payment' AND ref_id IN (?, ?, ?, ?)",
                  *payments) == [(4,)]
    assert books.call("ledger.check", out="JSONdata").get("elem", []) == []
