"""The layers of DESIGN.md: imports point inward only. The core is a library with no database or web import;
inside the core, text < (lists, match, formats) < screen; workflow imports no face; faces import no other face
(the command line may launch the sweep and the integrations, never the web app); no package imports another
package's private (underscore) names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "indexguard"
CORE = ("text", "lists", "match", "formats", "screen")
WORKFLOW = ("store", "cases", "hotline", "exchanges")
FACES = ("cli", "web", "integrations", "sweep")
FORBIDDEN_IN_CORE = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "jinja2")


# Inside the core: what each package may import of the others (DESIGN.md's picture, bottom up).
CORE_MAY_IMPORT = {
    "text": (),
    "formats": ("text",),
    "lists": ("text", "formats"),
    "match": ("text", "formats", "lists"),
    "screen": ("text", "formats", "lists", "match"),
}
# Known breaches, listed so they stay visible until moved (the test fails on any new one). None now: vPDQ's
# frames live in formats, its banks in lists, its matcher in match (issue 19 moved them).
KNOWN_CORE_BREACHES: set[tuple[str, str]] = set()
# The command line is the launcher of the sweep and the integrations (`indexguard sweep`, `proxy`, `export`,
# `probe`); it reaches the web app only through uvicorn's factory string. No other face imports a face.
FACE_MAY_IMPORT = {"cli": ("sweep", "integrations"), "web": (), "integrations": (), "sweep": ()}


def _imports(path: Path) -> set[str]:
    return {m for m, _names in _import_names(path)}


def _import_names(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) for every absolute import, at any depth (lazy imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
    return out


def _package(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


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


@pytest.mark.parametrize("path", _layer_files(CORE), ids=lambda p: str(p.relative_to(PKG)))
def test_core_packages_import_only_what_lies_below(path: Path) -> None:
    own = _package(path)
    allowed = set(CORE_MAY_IMPORT[own]) | {own}
    rel = str(path.relative_to(PKG))
    bad = [m for m in _imports(path) if m.startswith("indexguard.") and m.split(".")[1] in CORE and
           m.split(".")[1] not in allowed and (rel, m) not in KNOWN_CORE_BREACHES]  # fmt: skip
    assert bad == [], f"{rel} ({own}) imports {bad}"


def test_known_breaches_are_still_there() -> None:
    """A breach that was fixed must leave the list, so the list never hides a new one."""
    gone = [(f, m) for f, m in KNOWN_CORE_BREACHES if not (PKG / f).exists() or m not in _imports(PKG / f)]
    assert gone == []


def _face_imports(path: Path, own: str) -> list[str]:
    allowed = set(FACE_MAY_IMPORT[own]) | {own}
    return [m for m in _imports(path) if m.startswith("indexguard.") and m.split(".")[1] in FACES and
            m.split(".")[1] not in allowed]  # fmt: skip


@pytest.mark.parametrize("path", _layer_files(FACES), ids=lambda p: str(p.relative_to(PKG)))
def test_faces_import_no_other_face(path: Path) -> None:
    bad = _face_imports(path, _package(path))
    assert bad == [], f"{path.relative_to(PKG)} imports {bad}"


def test_no_package_imports_another_packages_private_names() -> None:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        own = _package(path)
        for module, names in _import_names(path):
            parts = module.split(".")
            if parts[0] != "indexguard" or len(parts) < 2 or parts[1] == own:
                continue
            private = [n for n in names if n.startswith("_")] + [p for p in parts[2:] if p.startswith("_")]
            if private:
                bad.append(f"{path.relative_to(PKG)}: {module} {private}")
    assert bad == []


def test_the_rule_catches_a_face_importing_a_face(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from indexguard.integrations.webhooks import verify\n    import indexguard.web.app\n")
    assert _face_imports(f, "web") == ["indexguard.integrations.webhooks"]  # its own package is fine
    assert _face_imports(f, "cli") == ["indexguard.web.app"]
    assert sorted(_face_imports(f, "sweep")) == sorted(_imports(f))
