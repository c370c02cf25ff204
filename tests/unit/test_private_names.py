"""No module reaches into another module's ``_private`` names.

A leading underscore says "this module's business": when another module needs a name, the
name is made public (and documented) instead. The check is static: ``from M import _x``,
and ``alias._x`` where ``alias`` is a kubetrust module imported by that name.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "kubetrust"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    base = SRC / Path(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to kubetrust modules: ``import a.b as c``, ``from a import b``."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("kubetrust.") and alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                if node.module.startswith("kubetrust") and _is_module(dotted):
                    aliases[alias.asname or alias.name] = dotted
    return aliases


def _imports_from_another(node: ast.AST, own: str) -> bool:
    return (
        isinstance(node, ast.ImportFrom)
        and node.level == 0
        and bool(node.module)
        and str(node.module).startswith("kubetrust")
        and node.module != own
    )


def private_uses(path: Path) -> list[str]:
    """Every use, in ``path``, of another kubetrust module's private name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own = _module_name(path)
    found: list[str] = []
    for node in ast.walk(tree):
        if _imports_from_another(node, own):
            assert isinstance(node, ast.ImportFrom)
            found += [
                f"{path.relative_to(SRC)}:{node.lineno}: from {node.module} import {a.name}"
                for a in node.names
                if _private(a.name)
            ]
    aliases = _module_aliases(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and aliases[node.value.id] != own
            and _private(node.attr)
        ):
            found.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_the_check_sees_a_private_use(tmp_path: Path) -> None:
    """The check itself can fail: both forms of reaching in are found."""
    sample = PACKAGE / "sandbox" / "_private_names_probe.py"
    sample.write_text(
        "from kubetrust.policy import evaluator\n"
        "from kubetrust.policy.evaluator import _hidden\n"
        "x = evaluator._other\n"
    )
    try:
        uses = private_uses(sample)
    finally:
        sample.unlink()
    assert len(uses) == 2, uses


def test_no_module_uses_another_modules_private_names() -> None:
    uses = [use for path in sorted(PACKAGE.rglob("*.py")) for use in private_uses(path)]
    assert not uses, "private names used across modules:\n" + "\n".join(uses)
