"""Reading the message tables of docs/protocol.md and docs/lab-protocol.md, and the messages the
server code builds, so that tests/test_protocol_docs.py can hold one against the other.

The docs are read generically: a section's first table, a row per message type, and in its
fields cell the backticked names that define a field at the top level — `name` followed by
`(`, `[`, `:`, `,`, `;`, ` as`, ` and` or the end of the cell, outside any parentheses, not one
of several values written `a` / `b`, not a reference (`as in `x``), and not in the list after a
`name`: (up to the next `;` or `or`), which holds its values or sub-fields. A new row or field needs
no change here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DEFINES = re.compile(r"^\s*(\(|\[|:|,|;|as\b|and\b|$)")


def section_table(text: str, heading: str) -> list[dict[str, str]]:
    """Rows of the first table after the heading that starts with `heading`."""
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines)
         if line.startswith("#") and line.lstrip("#").strip().startswith(heading)),
        None,
    )
    if start is None:
        raise AssertionError(f"no section {heading!r}")
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    if len(rows) < 3:
        raise AssertionError(f"section {heading!r} has no table")
    head, body = rows[0], rows[2:]
    return [dict(zip(head, row, strict=True)) for row in body]


def names(cell: str) -> list[str]:
    """Every backticked identifier of a cell."""
    return [n for n in re.findall(r"`([^`]+)`", cell) if IDENT.match(n)]


def top_level_fields(cell: str) -> set[str]:
    """The fields a cell defines (see the module docstring)."""
    out = set()
    depth = 0
    scoped = False  # inside the list after a `name`:
    i = 0
    while i < len(cell):
        ch = cell[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and (ch == ";" or cell.startswith(" or ", i) or cell.startswith("**or**", i)):
            scoped = False
        elif ch == "`":
            end = cell.find("`", i + 1)
            if end < 0:
                break
            name, before, after = cell[i + 1:end], cell[:i].rstrip(), cell[end + 1:]
            alternative = before.endswith("/") or after.lstrip().startswith("/")
            reference = before.endswith(" in")
            if (depth == 0 and not scoped and IDENT.match(name) and not alternative
                    and not reference and _DEFINES.match(after)):
                out.add(name)
                scoped = after.lstrip().startswith(":")
            i = end
        i += 1
    return out


def sub_fields(cell: str, name: str) -> set[str]:
    """The backticked names that describe field `name`'s own fields: inside the parentheses
    right after it, or in the list after `name`: up to the next `;`."""
    at = cell.find(f"`{name}`")
    if at < 0:
        raise AssertionError(f"no field {name!r} in {cell[:80]!r}")
    rest = cell[at + len(name) + 2:].lstrip()
    if rest.startswith("("):
        depth = 0
        for i, ch in enumerate(rest):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0:
                return set(names(rest[1:i]))
    if rest.startswith(":"):
        return set(names(rest[1:].split(";")[0]))
    raise AssertionError(f"field {name!r} lists no fields of its own")


def assigned_keys(path: Path, function: str, target: str) -> set[str]:
    """Constant keys `k` of every `target["k"] = …` in `function` of the module at `path`."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return {
                t.slice.value
                for a in ast.walk(node) if isinstance(a, ast.Assign)
                for t in a.targets
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                and t.value.id == target and isinstance(t.slice, ast.Constant)
            }
    raise AssertionError(f"no function {function} in {path}")


def section_text(text: str, kind: str) -> str:
    """The section about message type `kind`: the one whose heading names it in backticks,
    else the one that says its header has `type` (`kind`)."""
    sections = re.split(r"\n(?=#)", text)
    for sec in sections:
        if f"`{kind}`" in sec.splitlines()[0]:
            return sec
    for sec in sections:
        if f"(`{kind}`)" in sec:
            return sec
    raise AssertionError(f"no section describes message type {kind!r}")


def sent_messages(paths: list[Path]) -> dict[str, set[str]]:
    """Message type → keys, from every dict literal with a literal `"type"` in the code (and
    `msg["key"] = …` on a name bound to one). A `**spread` adds the key `**`. ASGI's own
    `websocket.send` and the like are left out."""
    found: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            bound: dict[str, str] = {}
            for node in ast.walk(func):
                if isinstance(node, ast.Dict):
                    kind = _literal_type(node)
                    if kind:
                        found.setdefault(kind, set()).update(_keys(node))
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
                    kind = _literal_type(node.value)
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if kind and isinstance(t, ast.Name):
                            bound[t.id] = kind
                if isinstance(node, ast.Assign):
                    for t in node.targets:
                        if (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                                and t.value.id in bound and isinstance(t.slice, ast.Constant)):
                            found[bound[t.value.id]].add(t.slice.value)
    return found


def _literal_type(node: ast.Dict) -> str | None:
    for k, v in zip(node.keys, node.values, strict=True):
        if (isinstance(k, ast.Constant) and k.value == "type" and isinstance(v, ast.Constant)
                and isinstance(v.value, str) and "." not in v.value):
            return v.value
    return None


def _keys(node: ast.Dict) -> set[str]:
    keys = set()
    for k in node.keys:
        if k is None:
            keys.add("**")
        elif isinstance(k, ast.Constant) and isinstance(k.value, str) and k.value != "type":
            keys.add(k.value)
    return keys
