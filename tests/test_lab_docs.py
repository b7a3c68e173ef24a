"""docs/seq-protocol.md, rl-protocol.md, paint-protocol.md and ae-protocol.md against the code, both ways: the client messages
and their fields, the messages the server sends, the settings table and the limits in `hello`."""

from __future__ import annotations

import typing
from types import SimpleNamespace

import pytest
from protocol_docs import ROOT, names, section_table, sent_messages, sub_fields, top_level_fields

from playground_models.aelab.config import AE_PARAMS
from playground_models.paintlab.config import PAINT_PARAMS
from playground_models.rllab.config import RL_PARAMS
from playground_models.seqlab.config import SEQ_PARAMS
from server import aelab, paintlab, rllab, seqlab
from server.settings import Settings

LABS = {
    "seq": SimpleNamespace(doc=ROOT / "docs" / "seq-protocol.md", module=seqlab, params=SEQ_PARAMS,
                           limits=seqlab.seq_limits),
    "rl": SimpleNamespace(doc=ROOT / "docs" / "rl-protocol.md", module=rllab, params=RL_PARAMS,
                          limits=rllab.rl_limits),
    "paint": SimpleNamespace(doc=ROOT / "docs" / "paint-protocol.md", module=paintlab,
                             params=PAINT_PARAMS, limits=paintlab.paint_limits),
    "ae": SimpleNamespace(doc=ROOT / "docs" / "ae-protocol.md", module=aelab, params=AE_PARAMS,
                          limits=aelab.ae_limits),
}


@pytest.fixture(params=sorted(LABS))
def lab(request):
    found = LABS[request.param]
    found.code = [ROOT / "server" / f"{request.param}lab.py", ROOT / "server" / "labshell.py",
                  ROOT / "playground_models" / "labsession.py",
                  *(ROOT / "playground_models" / f"{request.param}lab").glob("*.py")]
    return found


def _rows(lab, heading: str) -> dict[str, tuple[set[str], set[str]]]:
    out = {}
    for row in section_table(lab.doc.read_text(), heading):
        cells = list(row.values())
        for kind in names(cells[0]):
            out[kind] = (top_level_fields(cells[1]), set(names(cells[1])))
    return out


def _client_models(lab) -> dict[str, set[str]]:
    union = typing.get_args(typing.get_args(lab.module.ClientMessage)[0])
    out = {}
    for model in union:
        fields = {name for name in model.model_fields if name != "type"}
        for kind in typing.get_args(model.model_fields["type"].annotation):
            out[kind] = fields
    return out


def test_every_client_message_is_documented_with_its_fields(lab):
    doc, code = _rows(lab, "Client → server"), _client_models(lab)
    assert sorted(doc) == sorted(code)
    for kind, fields in code.items():
        assert doc[kind][0] == fields, kind


def test_every_message_the_server_sends_is_documented_and_only_those(lab):
    doc, sent = _rows(lab, "Server → client"), sent_messages(lab.code)
    assert set(sent) == set(doc)
    for kind, keys in sent.items():
        missing = keys - {"**"} - doc[kind][1]
        assert not missing, f"`{kind}` sends undocumented {sorted(missing)}"


def test_the_settings_and_limits_are_the_documented_ones(lab):
    table = section_table(lab.doc.read_text(), "Settings (share-URL keys)")
    assert [names(row["key"])[0] for row in table] == [p.name for p in lab.params]
    live = {names(row["key"])[0] for row in table if row["live"].strip() == "yes"}
    assert live == {p.name for p in lab.params if p.live}
    hello = next(r for r in section_table(lab.doc.read_text(), "Server → client")
                 if "hello" in names(r["type"]))
    limits = lab.limits(Settings()).to_json()
    assert sub_fields(hello["fields"], "limits") == {
        "max_message_bytes", "max_messages_per_second", "idle_timeout_s", "max_sessions", *limits}
