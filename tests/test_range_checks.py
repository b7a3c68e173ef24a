"""Numbers no double, index or C long holds, on both sockets, over HTTP and on the command line:
each is refused by name before it is used, and the session goes on."""

from __future__ import annotations

import pytest
from loopback import receive_lab

from playground_models.params import PARAMS, Kind
from server.cli import main
from server.protocol import MAX_INT_DIGITS, ProtocolError, load_json

NUMERIC = [p.name for p in PARAMS if p.kind in (Kind.INT, Kind.FLOAT)]
LISTS = {"networkShape": lambda v: [v], "removed": lambda v: [v], "points": lambda v: [[0, 0, v]]}


def _raw(ws, text: str) -> dict:
    ws.send_text(text)
    return receive_lab(ws)


# --- the shared parser -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "code", "field"),
    [
        ('{"type": "step", "n": ' + "9" * 5000 + "}", "bad_value", "n"),
        ('{"changes": {"removed": [1, ' + "9" * 400 + "]}}", "bad_value", "removed"),
        ('{"a": {"b": [[' + "1" * (MAX_INT_DIGITS + 1) + "]]}}", "bad_value", "b"),
        ("[" * 1000 + "]" * 1000, "bad_json", None),
        ('{"a": ' * 40 + "1" + "}" * 40, "bad_json", None),
        ('{"x": NaN}', "bad_json", None),
        ('{"x": -Infinity}', "bad_json", None),
    ],
)
def test_bounded_parsing_refuses_huge_integers_by_field_and_deep_nesting(text, code, field):
    with pytest.raises(ProtocolError) as err:
        load_json(text, max_depth=32)
    assert (err.value.code, err.value.field) == (code, field)


def test_bounded_parsing_keeps_what_a_double_holds_and_brackets_inside_strings():
    assert load_json('{"n": ' + "9" * MAX_INT_DIGITS + "}")["n"] == 10**MAX_INT_DIGITS - 1
    assert load_json('{"s": "' + "[" * 500 + '"}', max_depth=4) == {"s": "[" * 500}


# --- /ws ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NUMERIC + list(LISTS))
@pytest.mark.parametrize("kind", ["start", "update"])
def test_an_integer_past_a_double_in_any_parameter_is_refused_by_name(open_session, name, kind):
    s = open_session()
    s.start()
    huge = 10**400
    value = LISTS.get(name, lambda v: v)(huge)
    s.send(**({"type": "start", "config": {name: value}} if kind == "start"
              else {"type": "update", "changes": {name: value}}))
    err = s.next()
    assert (err["type"], err["code"], err["field"]) == ("error", "bad_value", name)
    s.send(type="step")
    assert s.next()["epoch"] == 1


@pytest.mark.parametrize("value", [2**63, 10**30, 2**31])
def test_a_removed_index_past_a_c_int_is_refused_and_does_not_poison_the_session(
    open_session, value
):
    s = open_session()
    s.start()
    s.send(type="update", changes={"removed": [3, value]})
    err = s.next()
    assert (err["code"], err["field"]) == ("bad_value", "removed")
    s.send(type="update", changes={"noise": 10})  # a rebuild reads `removed` again
    config = s.next()
    assert (config["type"], config["config"]["removed"], config["effects"]) == (
        "config", [], {"noise": "rebuild"})


def test_a_share_link_with_huge_numbers_starts_with_them_left_at_default(open_session):
    s = open_session()
    s.send(type="start", url=f"removed={2**63}&networkShape={'1' * 400}&learningRate=0.1")
    config = s.next()
    assert config["type"] == "config"
    assert sorted(e["field"] for e in config["errors"]) == ["networkShape", "removed"]
    assert (config["config"]["removed"], config["config"]["learningRate"]) == ([], 0.1)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "set_weight", "layer": 2**63, "to": 0, "from": 0, "value": 1}, "layer"),
        ({"type": "set_weight", "layer": 0, "to": -(2**63) - 1, "from": 0, "value": 1}, "to"),
        ({"type": "set_bias", "layer": 0, "to": 2**64, "value": 1}, "to"),
        ({"type": "ack", "seq": 2**63}, "seq"),
    ],
)
def test_message_indices_past_a_c_int_are_refused_by_name(open_session, message, field):
    s = open_session()
    s.start()
    s.send(**message)
    s.send(type="ping", id="after")  # an accepted ack has no reply: the pong would come first
    err = s.next()
    assert (err.get("code"), err.get("field")) == ("bad_value", field)
    assert s.next() == {"type": "pong", "id": "after"}


def test_ws_refuses_json_nested_past_the_setting(make_client):
    client = make_client(max_json_depth=8)
    with client.websocket_connect("/ws") as ws:
        ws.receive_text()
        err = _raw(ws, '{"type": "ping", "id": ' + "[" * 9 + "]" * 9 + "}")
        assert (err["code"], "8 levels" in err["message"]) == ("bad_json", True)
        assert _raw(ws, '{"type": "ping", "id": ' + "[" * 7 + "]" * 7 + "}")["type"] == "pong"


# --- /ws/lab -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "code", "field"),
    [
        ('{"type": "select", "example": ' + "9" * 5000 + "}", "bad_value", "example"),
        ('{"type": "ping", "id": ' + "[" * 1000 + "]" * 1000 + "}", "bad_json", None),
        ('{"type": "dream", "layer": 1, "unit": NaN}', "bad_json", None),
        ('{"type": "select", "example": 9223372036854775808}', "bad_message", "example"),
        ('{"type": "dream", "layer": 9223372036854775808, "unit": 0}', "bad_message", "layer"),
        ('{"type": "dream", "layer": 1, "unit": 9223372036854775808}', "bad_message", "unit"),
        ('{"type": "predict", "size": 8, "pixels": "", "id": 9007199254740993}',
         "bad_message", "id"),
        ('{"type": "ping", "id": 9007199254740993}', "bad_message", "id"),
        ('{"type": "start", "config": {"net": "conv' + "9" * 5000 + 'k5-fc10"}}', "bad_value",
         "net"),
    ],
)
def test_lab_answers_huge_numbers_and_deep_nesting_with_a_typed_error(client, text, code, field):
    with client.websocket_connect("/ws/lab") as ws:
        ws.receive_text()
        err = _raw(ws, text)
        assert (err["type"], err["code"], err["field"]) == ("error", code, field)
        assert _raw(ws, '{"type": "ping", "id": 7}') == {"type": "pong", "id": 7}


# --- the command line --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["run", "removed=99999999999999999999999", "--epochs", "1"], "removed"),
        (["run", "networkShape=" + "1" * 400, "--epochs", "1"], "networkShape"),
        (["sweep", "removed=99999999999999999999999", "--param", "noise", "--values", "0",
          "--epochs", "1"], "removed"),
        (["sweep", "x=1", "--param", "removed", "--values", "9" * 30, "--epochs", "1"],
         "removed"),
        (["summary", "samples=" + "9" * 30], "samples"),
        (["summary", "net=conv" + "9" * 5000 + "k5-fc10"], "net"),
    ],
)
def test_cli_refuses_huge_numbers_with_one_line_naming_the_key(capsys, argv, key):
    assert main(argv) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert len(out.err.strip().splitlines()) == 1 and f" {key}:" in out.err
