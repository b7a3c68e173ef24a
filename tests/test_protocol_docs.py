"""docs/protocol.md and docs/lab-protocol.md against the code, both ways: every message type and
field the docs list exists in the code, and every one the code accepts or sends is in the docs.

Client messages come from the pydantic models (server/protocol.py, server/imagelab.py); server
messages from the dict literals the server code builds (tests/protocol_docs.py reads both).
"""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path
from types import ModuleType

import pytest
from protocol_docs import (
    ROOT,
    assigned_keys,
    names,
    section_table,
    section_text,
    sent_messages,
    sub_fields,
    top_level_fields,
)
from pydantic import BaseModel

from playground_models.imagelab.config import LAB_PARAMS
from server import imagelab, protocol
from server.settings import Settings

LIVE = {
    "doc": ROOT / "docs" / "protocol.md",
    "models": protocol,
    # client.py is the Python client of both sockets: it sends, it does not answer.
    "code": [
        p for p in (ROOT / "server").glob("*.py") if p.name not in ("imagelab.py", "client.py")
    ],
}
LAB = {
    "doc": ROOT / "docs" / "lab-protocol.md",
    "models": imagelab,
    "code": [ROOT / "server" / "imagelab.py", *(ROOT / "playground_models" / "imagelab").glob("*.py")],
}
DOCS = pytest.mark.parametrize("side", [LIVE, LAB], ids=["ws", "lab"])


def client_models(module: ModuleType) -> dict[str, set[str]]:
    """Message type → fields (as written on the wire) of every message model in `module`."""
    out: dict[str, set[str]] = {}
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if not issubclass(cls, BaseModel) or cls.__module__ != module.__name__:
            continue
        tag = cls.model_fields.get("type")
        if tag is None or typing.get_origin(tag.annotation) is not typing.Literal:
            continue
        fields = {f.alias or name for name, f in cls.model_fields.items() if name != "type"}
        for kind in typing.get_args(tag.annotation):
            out[kind] = fields
    return out


def doc_rows(doc: Path, heading: str) -> dict[str, tuple[set[str], set[str]]]:
    """Message type → (fields the row defines, every name the row mentions)."""
    out = {}
    for row in section_table(doc.read_text(), heading):
        cells = list(row.values())
        kinds, fields = names(cells[0]), cells[1]
        assert kinds, f"{doc.name}: a {heading} row names no message type: {cells[0]!r}"
        for kind in kinds:
            out[kind] = (top_level_fields(fields), set(names(fields)))
    return out


@DOCS
def test_every_client_message_in_the_docs_is_accepted_with_the_same_fields(side):
    doc = doc_rows(side["doc"], "Client → server")
    code = client_models(side["models"])
    only_doc, only_code = sorted(set(doc) - set(code)), sorted(set(code) - set(doc))
    assert not (only_doc or only_code), (
        f"{side['doc'].name}: only in the docs {only_doc}, only in the models {only_code}"
    )
    for kind, fields in code.items():
        assert doc[kind][0] == fields, f"{side['doc'].name}: `{kind}` fields"


def test_the_live_protocol_models_are_the_types_the_parser_accepts():
    assert sorted(client_models(protocol)) == sorted(protocol.MESSAGE_TYPES)


@DOCS
def test_every_server_message_in_the_docs_is_sent_with_the_same_fields(side):
    doc = doc_rows(side["doc"], "Server → client")
    sent = sent_messages(side["code"])
    text = side["doc"].read_text()
    for kind, keys in sent.items():
        if kind in doc:
            defined, mentioned = doc[kind]
            missing = keys - {"**"} - mentioned
            assert not missing, f"{side['doc'].name}: `{kind}` sends undocumented {sorted(missing)}"
            if "**" not in keys:  # a spread sends keys this reading cannot see
                extra = defined - keys
                assert not extra, f"{side['doc'].name}: `{kind}` documents {sorted(extra)}, never sent"
        else:  # a binary message: its header keys are described in its own section
            section = set(names(section_text(text, kind)))
            missing = keys - {"**"} - section
            assert not missing, f"{side['doc'].name}: `{kind}` header has undocumented {sorted(missing)}"
    never = set(doc) - set(sent)
    assert not never, f"{side['doc'].name}: documents messages the server never sends: {sorted(never)}"


def _row(doc: Path, heading: str, kind: str) -> str:
    return next(r for r in section_table(doc.read_text(), heading) if kind in names(r["type"]))[
        "fields"
    ]


def test_the_limits_in_hello_are_the_ones_documented():
    live = sub_fields(_row(LIVE["doc"], "Server → client", "hello"), "limits")
    assert live == set(Settings().limits())
    lab = sub_fields(_row(LAB["doc"], "Server → client", "hello"), "limits")
    settings = Settings()
    assert lab == set(imagelab.hello_limits(settings, imagelab.lab_limits(settings)))


def test_the_frame_arrays_are_the_ones_documented():
    table = section_table(LIVE["doc"].read_text(), "`frame`")
    documented = {names(row["name"])[0] for row in table}
    assert documented == assigned_keys(ROOT / "server" / "frames.py", "snapshot_arrays", "arrays")


def test_the_lab_settings_are_the_ones_documented():
    table = section_table(LAB["doc"].read_text(), "Settings")
    # `preset` is no setting of its own: a link key that sets `net` (the config module expands it).
    assert {names(row["key"])[0] for row in table} == {p.name for p in LAB_PARAMS} | {"preset"}


def test_every_api_route_is_documented_and_every_documented_one_exists():
    from server.app import create_app

    served = {
        (method.upper(), path)
        for path, ops in create_app().openapi()["paths"].items() if path.startswith("/api/")
        for method in ops
    }
    text = LIVE["doc"].read_text() + LAB["doc"].read_text()
    documented = {
        (method, path.split("?")[0])
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/api/[^`\s]*)", text)
    }
    assert documented == served


def test_the_doc_reader_finds_fields_and_leaves_values_and_references_out():
    cell = (
        "`state`: `paused` / `playing`; `epoch`; for `diverged` also `diverged_at` (epoch), "
        "`limits` (object: `max_fps`), `model`: `layers`, `path`; `seq` [3], `to` as in `set_weight`, "
        "`config`: an object **or** `url`: a link"
    )
    assert top_level_fields(cell) == {
        "state", "epoch", "diverged_at", "limits", "model", "seq", "to", "config", "url",
    }
    assert sub_fields(cell, "limits") == {"max_fps"}
    assert sub_fields(cell, "model") == {"layers", "path"}
