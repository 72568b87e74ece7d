"""Production modules never import test support, test packages or pytest (issue 12)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_PRODUCTION = {"tests", "testsupport", "benchmarks", ".venv", "venv", "migrations", "node_modules"}
FORBIDDEN = ("testsupport", "pytest", "factory")


def production_modules():
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & NOT_PRODUCTION or path.name == "conftest.py" or path.name.startswith("test_"):
            continue
        yield path


def imported_names(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_no_production_module_imports_test_code():
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in production_modules()
        for name in imported_names(path)
        if name.split(".")[0] in FORBIDDEN or ".tests" in f".{name}"
    }
    assert not offenders, sorted(offenders)


def test_the_walk_sees_production_code():
    names = {str(path.relative_to(ROOT)) for path in production_modules()}
    assert "calls/services.py" in names and "morpheus/outbox.py" in names
