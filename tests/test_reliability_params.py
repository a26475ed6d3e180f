"""Every function in the registry, called with generated parameters, answers
a typed error or a result in the asked format -- never ``internal``, never
silence.

Each function gets its declared fields and filters and the common list
parameters, with values drawn from plausible ones and from trouble: garbage,
text up to 100,000 characters, lone surrogates and non-characters, control
characters, digits that are not ASCII ('²', '٣', '１２'), 5,000-digit numbers,
negative numbers, empty values and repeated keys.  Calls go as the superuser
(the test's uid is the daemon's) and some as a client's session, many frames
over one connection.  The counts per function and error type are printed at
the end of the run (see ``reliability.summarize``).
"""

import json

import pytest
from conftest import Daemon
from hypothesis import example, given
from hypothesis import strategies as st
from reliability import CONTENT_TYPES, Keeper, Tally, brief, fuzz_settings, log_faults, log_size, reduced, scaled

from billmgr.registry import Registry

REGISTRY = Registry.load()
FUNCTIONS = sorted(REGISTRY.callable())
EXAMPLES = 70          # per function; each example is BATCH calls
BATCH = 8
COMMON = ("elid", "plid", "p_num", "p_cnt", "p_sort", "p_order", "filter", "sok", "out", "lang")

# -- values -------------------------------------------------------------------

NOT_ASCII_DIGITS = "²³٣١٢１２߀𝟙𝟚①፩〇Ⅻ½"   # str.isdigit() or isnumeric(), yet int() refuses or misreads them
NON_CHARACTERS = ["\ufffe", "\uffff", "\U0010ffff", "\x00", "\ufeff"]


def _stretched(piece, size):
    return (piece * (size // len(piece) + 1))[:size]


# Each kind of trouble is one cheap draw or two: generating the values costs
# more than the daemon takes to answer them.
garbage = st.text(max_size=30)
huge = st.builds(_stretched, st.text(min_size=1, max_size=8), st.integers(1_000, 100_000))
non_scalar = st.builds("{}{}{}".format, st.text(max_size=4),
                       st.one_of(st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
                                 st.sampled_from(NON_CHARACTERS)),
                       st.text(max_size=4))
control = st.text(st.characters(categories=["Cc"]), min_size=1, max_size=20)
not_ascii_digits = st.text(NOT_ASCII_DIGITS + "0123456789", min_size=1, max_size=6)
huge_digits = st.builds(_stretched, st.text("0123456789", min_size=1, max_size=8), st.integers(19, 6_000))
negative = st.one_of(st.integers(-10 ** 40, -1).map(str), st.sampled_from(["-0", "-", "--1", "-1.5", "-1e9"]))
numberish = st.sampled_from(["0", "1", "00", "1.5", "1e9", "nan", "inf", "0x10", " 1", "1 ", "+1", "1,2", "1, 2",
                             "9223372036854775807", "9223372036854775808", "18446744073709551616"])
trouble = st.one_of(garbage, huge, non_scalar, control, not_ascii_digits, huge_digits, negative, st.just(""),
                    numberish)

FORMATS = sorted(CONTENT_TYPES)
CHECKED = {
    "int": st.integers(0, 12).map(str),
    "email": st.builds("{}@{}.com".format, st.text("abcxyz019._+-", min_size=1, max_size=12),
                       st.sampled_from(["example", "mail", "x-y"])),
    "phone": st.sampled_from(["+7 495 123-45-67", "+1 (555) 010-0199", "84951234567"]),
    "url": st.sampled_from(["https://example.com/", "http://panel.example.com/settings?x=1"]),
    "date": st.sampled_from(["2026-01-01", "2026-02-29", "1999-12-31"]),
    "datetime": st.sampled_from(["2026-01-01 10:00:00", "2026-01-01T10:00:00"]),
    "ip": st.sampled_from(["10.0.0.1", "::1", "192.168.1.300"]),
    "money": st.sampled_from(["12.34", "0", "-5.00", "1e3"]),
}


def plausible(spec, name, ids):
    """Values a caller would send for parameter ``name`` of ``spec``: what
    reaches past validation into the handler (``ids``: of objects that exist)."""
    fields = {f.name: f for f in spec.fields + spec.filters}
    field = fields.get(name)
    if field is not None:
        if field.choices:
            return st.sampled_from(field.choices)
        if field.type == "checkbox":
            return st.sampled_from(["on", "off", "yes", "no"])
        if field.type == "password":
            return st.sampled_from(["Secret-pass-1", "short"])
        if field.check:
            return CHECKED[field.check]
        if name == "username":
            return st.sampled_from(["root", "nobody@example.com"])
        return st.text(max_size=20)
    by_name = {
        "elid": st.one_of(st.sampled_from(ids), st.lists(st.sampled_from(ids), min_size=2, max_size=4).map(", ".join)),
        "plid": st.sampled_from(ids),
        "p_num": st.integers(1, 4).map(str),
        "p_cnt": st.integers(1, 50).map(str),
        "p_sort": st.sampled_from(spec.column_names or ("id",)),
        "p_order": st.sampled_from(["asc", "desc", "ASC"]),
        "filter": st.just("on"),
        "sok": st.sampled_from(["ok", "yes"]),
        "out": st.sampled_from(FORMATS),
        "lang": st.sampled_from(["en", "ru"]),
    }
    return by_name.get(name, st.text(max_size=20))


def _call(func, pairs, sok, filtered, out, as_client):
    """(parameters, whether they go as the client's session)."""
    return ([("func", func)] + [("sok", "ok")] * sok + [("filter", "on")] * filtered
            + [("out", out)] * (out is not None) + pairs, as_client)


def calls(spec, ids):
    """One call of ``spec``: its parameters, and whether it goes as the client's session."""
    names = sorted({f.name for f in spec.fields + spec.filters} | set(COMMON))
    valued = {name: st.tuples(st.just(name), st.one_of(plausible(spec, name, ids), trouble)) for name in names}
    named = st.sampled_from(names).flatmap(valued.__getitem__)
    stranger = st.tuples(st.text(min_size=1, max_size=10), st.one_of(garbage, trouble))
    pair = st.one_of(named, named, named, stranger)      # three known names to one stranger
    return st.builds(_call, st.just(spec.name), st.lists(pair, max_size=12), st.booleans(), st.booleans(),
                     st.one_of(st.none(), st.sampled_from(FORMATS)), st.sampled_from([False, False, False, True]))


# One value of each kind of trouble that has broken a function before, tried
# in every parameter of every function on every run, whatever hypothesis draws.
KNOWN_TROUBLE = ["²", "١٢", "１２", "1" + "0" * 5_000, "-1", "", "\ud800", "x" * 100_000, "\x00\x1f"]
# what a required field holds while another parameter is under test
FILLER = {"email": "known-{}@example.com", "password": "short", "int": "1", "phone": "+7 495 123-45-67",
          "url": "https://example.com/", "date": "2026-01-01", "datetime": "2026-01-01 10:00:00",
          "ip": "10.0.0.1", "money": "1.00", "checkbox": "on"}


def known_calls(spec):
    """Each of KNOWN_TROUBLE in each parameter of ``spec``, with its form
    submitted, its filter on and its required fields filled; then a parameter
    whose name XML cannot take."""
    names = [f.name for f in spec.fields + spec.filters] + list(COMMON)
    batch = []
    for name in names:
        for value in KNOWN_TROUBLE:
            required = [(f.name, FILLER.get(f.check or f.type, "x").format(f"{len(batch)}-{spec.name}"))
                        for f in spec.fields if f.required and f.name != name]
            batch.append(([("func", spec.name), ("sok", "ok"), ("filter", "on"), *required, (name, value)], False))
    return [*batch, ([("func", spec.name), ("sok", "ok"), ("a b", "1")], False)]


# -- the daemon ---------------------------------------------------------------

def made(keeper, *pairs):
    """Create something; its reply as JSONdata."""
    reply = keeper.call([*pairs, ("sok", "ok"), ("out", "JSONdata")])
    assert reply["error"] is None, reply
    return json.loads(reply["body"])


def client_session(keeper, tag):
    """A new client and a session of theirs, opened with a session.newkey key (no scrypt)."""
    client, key = f"client-{tag}@example.com", f"key-{tag}-0123456789"
    made(keeper, ("func", "account.edit"), ("email", client))
    made(keeper, ("func", "session.newkey"), ("username", client), ("key", key))
    return made(keeper, ("func", "auth"), ("username", client), ("key", key))["auth"]


def seed(keeper, tag):
    """Objects of each kind for one test's calls to find; their ids.  Each
    test makes its own, as the tests before it may have deleted theirs."""
    ids = [made(keeper, ("func", "account.edit"), ("email", f"seed{i}-{tag}@example.com"))["id"] for i in range(3)]
    group = made(keeper, ("func", "accountgroup.edit"), ("name", f"Group {tag}"), ("auto", "on"))["id"]
    ids += [group, made(keeper, ("func", "project.edit"), ("name", f"Provider {tag}"))["id"],
            made(keeper, ("func", "accountgroup.condition.edit"), ("plid", group), ("field", "email"),
                 ("op", "contains"), ("value", "seed"))["id"],
            made(keeper, ("func", "ticket.write.account"), ("elid", ids[0]), ("subject", "Hello"),
                 ("message", "Hi"))["id"]]
    return sorted(set(ids))


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """The module's daemon, restarted if a call kills it, with a client's
    session for each function's test: all opened first, before the fuzz of
    ``auth`` can make the login throttle refuse them."""
    keeper = Keeper(Daemon(tmp_path_factory.mktemp("fuzz"), settings="LogLevel warning\n").start())
    keeper.sessions = {name: client_session(keeper, name) for name in FUNCTIONS}
    yield keeper
    keeper.stop()


def test_the_fuzz_covers_every_function_the_daemon_serves(panel):
    listed = panel.daemon.mgrctl("-m", "billmgr", "-i")
    assert listed.returncode == 0
    listed = sorted(line.split("\t")[0].replace("{type}", "vds") for line in listed.stdout.splitlines() if line)
    assert listed == FUNCTIONS     # a family is listed once, as {type}.edit


@pytest.mark.parametrize("name", FUNCTIONS)
def test_generated_parameters_never_get_internal(panel, name, record_property):
    ids, session = seed(panel, name), panel.sessions[name]
    tally = Tally(name)
    since = log_size(panel.daemon)

    @fuzz_settings(EXAMPLES)
    @given(st.lists(calls(REGISTRY.get(name), ids), min_size=BATCH, max_size=BATCH))
    @example(known_calls(REGISTRY.get(name)))
    def fuzz(batch):
        for pairs, as_client in batch:
            if as_client:
                pairs = [("auth", session), *pairs]
            outcome, problem = panel.check(pairs)
            tally.add(outcome)
            if problem:
                culprit = reduced(pairs, lambda trial: panel.check(trial)[1] is not None)
                raise AssertionError(f"{problem}\n  after the call {brief(culprit)}")

    try:
        fuzz()
    finally:
        tally.record(record_property)
    assert tally.calls >= scaled(EXAMPLES) * BATCH
    assert not log_faults(panel.daemon, since)


@pytest.mark.parametrize("out", ["xml", "devel"])
def test_a_parameter_name_that_is_no_xml_name_still_gives_well_formed_xml(panel, out):
    """Parameters are echoed in <tparams> as elements named after them: a name
    XML cannot take must not make the document unreadable."""
    for name in ("a b", "1x", "<x>", "x/y", "!"):
        pairs = [("func", "project.delete"), ("elid", "999999"), (name, "1"), ("out", out)]
        outcome, problem = panel.check(pairs)
        assert problem is None and outcome == "ok", f"{problem} after {brief(pairs)}"
