"""docs/architecture.md names only what exists: every path in backticks is a file or folder of
the repository, every route is served, and every class, method or function it names is defined
in the code. README's "How it fits together" names every module, and its settings table every
setting with the code's default. A rename or a removal that leaves the docs behind fails here."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
CODE_DIRS = ("server", "playground_models", "frontend", "tests")
CODE_SUFFIXES = {".py", ".js", ".mjs", ".c", ".html", ".json"}
FILE_SUFFIXES = CODE_SUFFIXES | {".md", ".css", ".toml", ".txt"}
# Names from outside the repository: libraries, the browser, HTTP, TF Playground's sources, and
# the classroom `_hide` suffix of share links.
OUTSIDE = {
    "Field", "torch.optim", "gradcheck", "ImageData", "replaceState", "requestAnimationFrame",
    "Host", "nn.ts", "dataset.ts", "_hide",
}
NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?")


def _doc_parts() -> tuple[list[str], str]:
    """The backticked spans of the prose and tables, and the text of the fenced blocks."""
    text = DOC.read_text()
    fenced = re.findall(r"```.*?\n(.*?)```", text, flags=re.DOTALL)
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return re.findall(r"`([^`\n]+)`", prose), "\n".join(fenced)


@cache
def _sources() -> dict[Path, str]:
    files = {}
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in CODE_SUFFIXES and "node_modules" not in path.parts:
                files[path] = path.read_text(errors="replace")
    return files


def _defines(source: str, name: str) -> bool:
    """Whether `source` defines `name`: a Python def, class or assignment, or a JS function,
    class, method or binding."""
    n = re.escape(name)
    patterns = (
        rf"^\s*(?:async\s+)?def\s+{n}\b",
        rf"^\s*(?:export\s+)?class\s+{n}\b",
        rf"^\s*(?:self\.|this\.)?{n}\s*(?::[^=\n]*)?=",
        rf"^\s*(?:export\s+)?(?:async\s+)?function\s+{n}\s*\(",
        rf"^\s*(?:export\s+)?(?:const|let|var)\s+{n}\b",
        rf"^\s*(?:async\s+)?{n}\s*\([^)]*\)\s*{{",
    )
    return any(re.search(p, source, flags=re.MULTILINE) for p in patterns)


def _is_path(span: str) -> bool:
    return not span.startswith("/") and " " not in span and (
        "/" in span or Path(span).suffix in FILE_SUFFIXES
    )


def _path_exists(span: str) -> bool:
    if "/" in span:
        return (ROOT / span).exists()
    # A bare file name ("main.js" beside its full path): some file of the repository.
    return any(p.name == span for p in _sources()) or (ROOT / span).exists()


def _symbol_defined(span: str) -> bool:
    """`Class.method`, `module.name`, `name()` or a name, defined somewhere in the code. A plain
    lowercase word (a message type, a header field, a socket kind) need only occur in it."""
    name = span.removesuffix("()")
    parts = name.split(".")
    sources = _sources()
    if len(parts) == 1:
        word = re.compile(rf"\b{re.escape(name)}\b")
        if name.isalpha() and name.islower() and not span.endswith("()"):
            return any(word.search(s) for s in sources.values())
        return any(_defines(s, name) for s in sources.values())
    owner, member = parts[-2], parts[-1]
    if owner[0].isupper():  # a class and one of its methods, in the file that defines the class
        defines_owner = re.compile(rf"^\s*(?:export\s+)?class\s+{owner}\b", re.MULTILINE)
        holders = [s for s in sources.values() if defines_owner.search(s)]
    else:  # a module and a name in it
        holders = [s for p, s in sources.items() if p.stem == owner]
    return any(_defines(s, member) for s in holders)


def _spans() -> list[str]:
    spans, _ = _doc_parts()
    return sorted(set(spans))


def test_the_document_exists_and_is_linked_from_the_readme():
    assert DOC.is_file()
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How it fits together", 1)[1]
    assert "docs/architecture.md" in section


@pytest.mark.parametrize("span", [s for s in _spans() if s not in OUTSIDE and _is_path(s)])
def test_every_path_in_backticks_exists(span):
    assert _path_exists(span), f"docs/architecture.md names `{span}`, which is not in the repository"


@pytest.mark.parametrize("span", [s for s in _spans() if s.startswith("/") and " " not in s])
def test_every_route_in_backticks_is_served(span):
    route = re.compile(rf"[\"']{re.escape(span)}[\"'?/]")
    assert any(route.search(s) for p, s in _sources().items() if p.suffix == ".py"), span


@pytest.mark.parametrize(
    "span", [s for s in _spans() if s not in OUTSIDE and not _is_path(s) and NAME.fullmatch(s)]
)
def test_every_name_in_backticks_is_defined(span):
    assert _symbol_defined(span), f"docs/architecture.md names `{span}`, which the code lacks"


def test_every_file_and_method_of_the_flow_exists():
    _, flow = _doc_parts()
    files = set(re.findall(r"\b\w+\.(?:py|js)\b", flow))
    methods = set(re.findall(r"\b[A-Z]\w*\.[A-Za-z_]\w*", flow))
    classes = set(re.findall(r"\b[A-Z][a-z]+[A-Z]\w*\b", flow)) - {m.split(".")[0] for m in methods}
    assert files and methods, "the flow in docs/architecture.md names files and methods"
    assert [f for f in sorted(files) if not _path_exists(f)] == []
    assert [m for m in sorted(methods) if not _symbol_defined(m)] == []
    assert [c for c in sorted(classes) if not _symbol_defined(c)] == []


def test_the_checker_refuses_what_does_not_exist():
    assert not _path_exists("server/nosuchmodule.py")
    assert not _symbol_defined("Session.no_such_method")
    assert not _symbol_defined("NoSuchClass")
    assert not _symbol_defined("no_such_function()")
    assert _symbol_defined("Session.serve")
    assert _symbol_defined("decodeEnvelope")


def _readme_bullet(folder: str) -> str:
    section = (ROOT / "README.md").read_text().split("## How it fits together", 1)[1]
    section = section.split("\n## ", 1)[0]
    return section.split(f"- `{folder}/`", 1)[1].split("\n- `", 1)[0]


@pytest.mark.parametrize("folder", ["server", "playground_models"])
def test_the_readme_names_every_module_and_only_modules_that_exist(folder):
    bullet = _readme_bullet(folder)
    base = ROOT / folder
    modules = {p.name for p in base.glob("*.py") if p.name != "__init__.py"}
    packages = {f"{p.name}/" for p in base.iterdir() if (p / "__init__.py").is_file()}
    named = {n for n in re.findall(r"`([\w./]+)`", bullet) if "." in n or "/" in n}
    assert sorted((modules | packages) - named) == []
    assert sorted(n for n in named if not n.startswith("tests/") and not (base / n).exists()) == []


def test_the_readme_settings_table_lists_every_setting_with_its_default():
    from server.settings import Settings

    table = (ROOT / "README.md").read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `--([a-z0-9-]+)` \| ([^|]*) \|", table, flags=re.MULTILINE))
    for name, field in Settings.model_fields.items():
        flag = name.replace("_", "-")
        assert flag in rows, f"README's settings table lacks `--{flag}`"
        default, written = field.default, rows[flag].strip()
        if isinstance(default, int | float) and not isinstance(default, bool):
            number = re.fullmatch(r"-?[\d.]+", written.replace(",", ""))
            if number is None:  # a described default, as "CPU count (≤ 8)"
                continue
            assert float(number.group()) == default, (
                f"README gives `--{flag}` the default {written!r}; the code has {default}"
            )
