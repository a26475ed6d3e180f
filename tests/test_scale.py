"""At scale: 80,000 clients written straight into the database before the
daemon starts.  An unpaged list of every client streams complete and
well-formed in every format, over the socket and over HTTP, and the daemon
stays up; a client leaving half-way releases the read transaction; pages
and filters answer from indexes."""

import http.client
import json
import socket
import sqlite3
from urllib.parse import urlencode

import pytest
from conftest import Daemon, eventually
from lxml import etree, html

from billmgr import config, protocol
from billmgr.store import open_store
from billmgr.store.sample import add_clients, add_clients_to

CLIENTS = 80_000


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    port = _free_port()
    d = Daemon(root, f"HttpListen 127.0.0.1:{port}\n")
    store = open_store(config.load(str(d.conf)))
    try:
        add_clients_to(store, CLIENTS)
    finally:
        store.close()
    d.start()
    d.port = port
    assert d.mgrctl("-m", "billmgr", "employee.edit", "name=staff", "passwd=Staff-pass1", "confirm=Staff-pass1",
                    "sok=ok").returncode == 0
    yield d
    d.stop()


def _count(out, body):
    if out in ("xml", "devel"):
        return len(etree.fromstring(body.encode()).findall("elem"))
    if out == "print":
        return len(html.fromstring(body).findall(".//tbody/tr"))
    if out == "text":
        return len(body.splitlines())
    data = json.loads(body)
    return len((data["doc"] if out in ("json", "sjson") else data)["elem"])


@pytest.mark.parametrize("out", ["xml", "json", "sjson", "JSONdata", "bjson", "text", "print"])
def test_an_unpaged_list_of_every_client_streams_in_every_format(big, out):
    result = big.mgrctl("-m", "billmgr", "-o", out, "account")
    assert result.returncode == 0, result.stderr
    assert _count(out, result.stdout) == CLIENTS
    assert big.process.poll() is None
    assert big.call("account", "p_cnt=1")["p_elems"]["$"] == str(CLIENTS)


def test_a_streamed_reply_over_http_is_complete(big):
    conn = http.client.HTTPConnection("127.0.0.1", big.port, timeout=60)
    conn.request("GET", "/billmgr?" + urlencode({"func": "account", "out": "JSONdata",
                                                 "authinfo": "staff:Staff-pass1"}))
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Transfer-Encoding") == "chunked"
    rows = json.loads(response.read())["elem"]
    assert len(rows) == CLIENTS and rows[-1]["id"] == str(CLIENTS)
    conn.close()


def test_a_client_leaving_half_way_releases_the_transaction(big):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(big.socket))
    protocol.write_frame(sock, {"op": "call", "params": [["func", "account"], ["out", "xml"]]})
    first = protocol.read_frame(sock, max_size=None)
    assert first["more"] and first["body"].startswith("<?xml")
    big.new_account("meanwhile@example.com")     # a commit the streaming reader does not see
    sock.close()
    eventually(lambda: not _holds_a_transaction(big), 30, "the abandoned stream still holds its transaction")
    assert big.process.poll() is None


def _holds_a_transaction(d):
    """Whether a reader still holds a transaction open on the daemon's database."""
    if d.database:
        return d.stored("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND backend_type = 'client backend' AND pid != pg_backend_pid() "
                        "AND xact_start IS NOT NULL") != [(0,)]
    # While a reader holds a snapshot older than the last commit, the WAL cannot be truncated.
    with sqlite3.connect(d.db, timeout=0) as db:
        return db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] != 0


def test_last_pages_sorts_and_filters_are_right_at_scale(big):
    last = big.call("account", "p_cnt=50", f"p_num={CLIENTS // 50}")
    assert [e["id"]["$"] for e in last["elem"]][-1] == str(CLIENTS) and len(last["elem"]) == 50
    by_name = big.call("account", "p_cnt=3", "p_sort=name", "p_order=desc")
    names = [e["name"]["$"] for e in by_name["elem"]]
    assert names == sorted(names, key=str.lower, reverse=True)
    found = big.call("account", "filter=on", "email=client4242@", "p_cnt=50", out="sjson")
    assert [e["id"]["$"] for e in found["elem"]] == ["4242"]
    common = big.call("account", "filter=on", "email=example1", "p_cnt=5")     # in most rows: scanned
    assert int(common["p_elems"]["$"]) == sum(1 for n in range(1, CLIENTS + 1) if "example1" in f"example{n % 97}")
    with socket.socket(socket.AF_UNIX) as sock:      # a NUL cannot travel in mgrctl's argv; a frame carries it
        sock.connect(str(big.socket))
        protocol.write_frame(sock, {"op": "call", "params": [["func", "account"], ["filter", "on"],
                                                             ["email", "client4\x00242"], ["out", "JSONdata"]]})
        with_nul = protocol.read_frame(sock, max_size=None)
    assert with_nul["error"] == "value" and "holds a NUL character" in with_nul["body"]


BIG_LISTS = ("account", "ticket", "outbox")     # the lists that grow with the clients, unscoped
JOINED = {("account", "project"), ("ticket", "account")}   # columns of a joined table: their sorts sort


def test_every_order_of_the_big_lists_reads_an_index(tmp_path):
    """Each sort (both ways) and the default order of each list that grows with
    the clients reads rows in order from an index: no sorting of the whole table."""
    from billmgr.auth import Caller
    from billmgr.clock import Clock
    from billmgr.config import Config
    from billmgr.dispatch import Dispatcher, Request
    from billmgr.params import Params
    from billmgr.registry import Registry
    from billmgr.store import Store

    add_clients(str(tmp_path / "billmgr.db"), 2000)
    store = Store(tmp_path / "billmgr.db")
    dispatcher = Dispatcher(Registry.load(), store, Config.make(data=str(tmp_path)), Clock())
    db = sqlite3.connect(tmp_path / "billmgr.db", isolation_level=None)
    traced = []
    db.set_trace_callback(traced.append)
    try:
        for func in BIG_LISTS:
            spec = dispatcher.registry.get(func)
            orders = [[]] + [[("p_sort", c.name), ("p_order", way)] for c in spec.columns
                             if c.sort and (func, c.name) not in JOINED for way in ("asc", "desc")]
            for order in orders:
                for page in ("1", "3", "40"):    # the last pages are read backwards
                    params = Params([("func", func), ("p_cnt", "50"), ("p_num", page), *order])
                    req = Request(params, Caller("root", "admin", superuser=True), db, "en", spec, dispatcher)
                    traced.clear()
                    spec.handler.call(req)
                    for sql in (s for s in traced if "ORDER BY" in s):
                        plan = " / ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
                        assert "TEMP B-TREE" not in plan, (func, order, page, plan)
    finally:
        db.close()
        store.close()
