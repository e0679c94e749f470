"""The layers of DESIGN.md: imports point inward only. The core is a library with no database or web import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "indexguard"
CORE = ("text", "lists", "match", "formats", "screen")
WORKFLOW = ("store", "cases", "hotline", "exchanges")
FACES = ("cli", "web", "integrations", "sweep")
FORBIDDEN_IN_CORE = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "jinja2")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _layer_files(layers: tuple[str, ...]) -> list[Path]:
    return [p for layer in layers for p in sorted((PKG / layer).rglob("*.py"))]


@pytest.mark.parametrize("path", _layer_files(CORE), ids=lambda p: str(p.relative_to(PKG)))
def test_core_imports_no_workflow_face_or_framework(path: Path) -> None:
    bad = [
        m for m in _imports(path)
        if m.split(".")[0] in FORBIDDEN_IN_CORE
        or (m.startswith("indexguard.") and m.split(".")[1] in WORKFLOW + FACES)
    ]
    assert bad == [], f"{path.relative_to(PKG)} imports {bad}"


@pytest.mark.parametrize("path", _layer_files(WORKFLOW), ids=lambda p: str(p.relative_to(PKG)))
def test_workflow_imports_no_face(path: Path) -> None:
    bad = [m for m in _imports(path) if m.startswith("indexguard.") and m.split(".")[1] in FACES]
    assert bad == [], f"{path.relative_to(PKG)} imports {bad}"
