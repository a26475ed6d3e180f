"""Renderers: the same Doc in every format, escaping, and the JSON shapes of COMPAT."""

import json

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from billmgr import render
from billmgr.doc import Cell, Doc, ErrorInfo

text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
               max_size=40)


def listing(rows):
    doc = Doc.listing(("id", "name", "status"), rows, len(rows), 1, len(rows))
    doc.func, doc.lang = "account", "en"
    return doc


@given(st.lists(st.tuples(st.integers(1, 10**6).map(str), text), max_size=5))
def test_xml_and_json_carry_the_same_rows(rows):
    doc = listing([(i, name, "2") for i, name in rows])
    doc.labels = {"status": {"2": Cell("Active", (("orig", "2"),))}}
    xml = etree.fromstring(render.render(doc, "xml")[1].encode())
    data = json.loads(render.render(doc, "sjson")[1])["doc"]
    assert len(xml.findall("elem")) == len(data["elem"]) == len(rows)
    for elem, row, (i, name) in zip(xml.findall("elem"), data["elem"], rows):
        assert elem.findtext("id") == row["id"]["$"] == i
        assert row["status"] == {"$orig": "2", "$": "Active"}
        if name:
            assert row["name"]["$"] == elem.findtext("name") == name


def test_xml_escapes_and_drops_invalid_characters():
    doc = listing([("1", 'a<b>&"c"\x01', "")])
    body = render.render(doc, "xml")[1]
    assert etree.fromstring(body.encode()).findtext("elem/name") == 'a<b>&"c"\ufffd'


def test_text_lines_are_key_value_and_one_per_row():
    doc = listing([("1", "Alice Smith", "2"), ("2", "multi\nline", "")])
    doc.labels = {"status": {"2": Cell("Active", (("orig", "2"),))}}
    assert render.render(doc, "text")[1] == "id=1 name=Alice Smith status=Active\nid=2 name=multi\\nline\n"


def test_success_and_error_shapes():
    ok = Doc.success(id=5)
    ok.func, ok.tparams = "account.edit", [("func", "account.edit"), ("sok", "ok")]
    assert render.render(ok, "text")[1] == "OK\nid=5\n"
    xml = etree.fromstring(render.render(ok, "xml")[1].encode())
    assert xml.find("ok") is not None and xml.findtext("id") == "5" and xml.findtext("tparams/sok") == "ok"
    assert json.loads(render.render(ok, "JSONdata")[1]) == {"id": "5", "ok": True}
    error = Doc(func="x", error=ErrorInfo("access", "subaccount", "", "Insufficient privileges"))
    assert json.loads(render.render(error, "json")[1])["doc"]["error"]["$type"] == "access"
    assert json.loads(render.render(error, "bjson")[1])["error"] == {
        "type": "access", "object": "subaccount", "value": "", "msg": "Insufficient privileges"}
    assert render.render(error, "text")[1] == "ERROR access(subaccount): Insufficient privileges\n"


def test_repeated_fields_become_arrays_in_json():
    doc = Doc(func="f", fields=[("addon", "1"), ("addon", "2"), ("other", "x")])
    assert json.loads(render.render(doc, "json")[1])["doc"]["addon"] == [{"$": "1"}, {"$": "2"}]


def test_unknown_out_falls_back_to_xml():
    assert render.resolve("html") == "xml" and render.resolve(None) == "xml"
    assert render.render(Doc(func="f"), "nonsense")[0] == "text/xml"


def test_xml_rows_with_awkward_values():
    doc = Doc.listing(("id", "name", "state", "note"),
                      [[1, "nul\x00inside", 2, None], [2, "", 9, "tab\tand\nline"], [3, "{0} {}", 3, "<&>"]],
                      3, 1, 3, labels={"state": {"2": Cell("Active", (("orig", "2"),)), "3": ""}})
    doc.func = "x"
    root = etree.fromstring(render.render(doc, "xml")[1].encode())
    rows = root.findall("elem")
    assert rows[0].findtext("name") == "nul\ufffdinside" and rows[0].find("note") is None
    assert rows[0].find("state").get("orig") == "2" and rows[0].findtext("state") == "Active"
    assert rows[1].find("name") is None and rows[1].findtext("state") == "9"   # unknown code shown raw
    assert rows[1].findtext("note") == "tab\tand\nline"
    assert rows[2].findtext("name") == "{0} {}" and rows[2].find("state") is None
    assert rows[2].findtext("note") == "<&>"
    as_json = json.loads(render.render(doc, "sjson")[1])["doc"]["elem"]
    assert as_json[0]["state"] == {"$orig": "2", "$": "Active"} and "state" not in as_json[2]
