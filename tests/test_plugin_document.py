"""A handler's printed document becomes a Doc that renders in every format."""

import json

import pytest

from billmgr import render
from billmgr.plugins.document import DocumentError, parse

LIST = (b'<?xml version="1.0" encoding="UTF-8"?>\n<doc func="ignored" lang="xx">'
        b'<elem><id>1</id><status orig="2">Active</status><extra>x</extra></elem>'
        b'<elem><id>2</id><name>B &amp; C</name><status orig="3">Suspended</status></elem>'
        b'<elem><id>3</id><status orig="2">Active</status></elem>'
        b"<p_elems>3</p_elems><tparams><passwd>leak</passwd></tparams></doc>")


def rendered(doc, out):
    doc.func, doc.lang = "f", "en"
    return render.render(doc, out)[1]


def test_list_rows_keep_column_order_and_attributes():
    doc = parse(LIST, columns=("id", "name", "status"))
    assert doc.columns == ("id", "name", "status", "extra")
    assert rendered(doc, "xml").endswith(
        '<doc func="f" lang="en"><elem><id>1</id><status orig="2">Active</status><extra>x</extra></elem>'
        '<elem><id>2</id><name>B &amp; C</name><status orig="3">Suspended</status></elem>'
        '<elem><id>3</id><status orig="2">Active</status></elem><p_elems>3</p_elems></doc>\n')
    assert json.loads(rendered(doc, "json"))["doc"]["elem"][1] == {
        "id": {"$": "2"}, "name": {"$": "B & C"}, "status": {"$orig": "3", "$": "Suspended"}}
    assert json.loads(rendered(doc, "JSONdata")) == {
        "elem": [{"id": "1", "status": "Active", "extra": "x"}, {"id": "2", "name": "B & C", "status": "Suspended"},
                 {"id": "3", "status": "Active"}], "p_elems": "3"}
    assert json.loads(rendered(doc, "bjson"))["elem"][2] == {"id": "3", "status": "Active"}
    assert rendered(doc, "text").splitlines() == [
        "id=1 status=Active extra=x", "id=2 name=B & C status=Suspended", "id=3 status=Active"]
    assert "<td>B &amp; C</td>" in rendered(doc, "print")
    assert "leak" not in rendered(doc, "xml")     # tparams are the daemon's to echo


def test_form_fields_choices_and_ok():
    doc = parse(b'<doc><ok/><id>5</id><note kind="a">n\xc3\xa9</note>'
                b'<slist name="country"><val key="643">Russia</val></slist></doc>')
    assert doc.ok and doc.rows is None
    assert json.loads(rendered(doc, "JSONdata")) == {"id": "5", "note": "n\u00e9", "ok": True}
    assert json.loads(rendered(doc, "sjson"))["doc"]["slist"] == [
        {"$name": "country", "val": [{"$key": "643", "$": "Russia"}]}]
    assert rendered(doc, "text") == "OK\nid=5\nnote=n\u00e9\n"


def test_an_empty_list_is_still_a_list():
    doc = parse(b"<doc/>", columns=("id",), listing=True)
    assert doc.rows == [] and json.loads(rendered(doc, "sjson"))["doc"]["elem"] == []


def test_error_document():
    doc = parse(b'<doc><error type="value" object="email"><param name="object">email</param>'
                b'<param name="value">x@y</param><msg> Not here </msg></error></doc>')
    assert (doc.error.type, doc.error.object, doc.error.value, doc.error.msg) == ("value", "email", "x@y", "Not here")


def test_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET")
    doc = parse(f'<!DOCTYPE doc [<!ENTITY leak SYSTEM "file://{secret}">]><doc><a>&leak;</a></doc>'.encode())
    assert "TOPSECRET" not in rendered(doc, "xml")


@pytest.mark.parametrize("data, complaint", [
    (b"", "invalid XML"),
    (b"<doc><elem>", "invalid XML"),
    (b"Status: 200", "invalid XML"),
    (b"<html/>", "the root element is <html>, not <doc>"),
])
def test_what_is_not_a_result_document(data, complaint):
    with pytest.raises(DocumentError, match=complaint):
        parse(data)
