"""The page: `templates/` (jinja2) and `static/` (ES modules, CSS), served by `server.pages`.

A package only so that the files travel inside the wheel; it holds no Python code.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
