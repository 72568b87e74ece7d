"""Services and selectors are framework-free: they raise `morpheus.errors`, never DRF's
exceptions, so the admin, Celery tasks, management commands and the voice worker can
call them (docs/contributing.md)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("rest_framework", "morpheus.api", "drf_spectacular")
MODULES = sorted(
    path
    for pattern in ("*/services.py", "*/selectors.py", "*/services/*.py", "*/selectors/*.py")
    for path in ROOT.glob(pattern)
    if ".venv" not in path.parts
) + [ROOT / "calls" / "livekit_client.py"]


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_it_finds_the_services_and_selectors():
    assert len(MODULES) >= 10


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_services_and_selectors_do_not_import_the_api_framework(path):
    bad = [name for name in _imports(path) if name.startswith(FORBIDDEN)]
    assert not bad, (
        f"{path.relative_to(ROOT)} imports {bad}: raise morpheus.errors (NotFound, Conflict, PermissionDenied, "
        "ServiceUnavailable, ValidationFailed, ...) or Django's ValidationError instead; the API's exception "
        "handler maps them to the envelope."
    )


DATA_MIGRATIONS = sorted(
    path for path in ROOT.glob("*/migrations/0*.py") if ".venv" not in path.parts and "RunPython" in path.read_text()
)


@pytest.mark.parametrize("path", DATA_MIGRATIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_data_migrations_are_frozen(path):
    """A data migration runs the code of the day it was written, forever: it copies what it
    needs and uses historical models (`apps.get_model`), never the project's live modules."""
    import sys

    project = [
        name
        for name in _imports(path)
        if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "django"
    ]
    assert not project, f"{path.relative_to(ROOT)} imports live code {project}; copy what it needs into it"


# app -> apps it must not import at module level (they import it: a cycle otherwise).
LOWER_LAYERS = {"agents": ("calls", "telephony")}


def _module_level_imports(path: Path) -> list[str]:
    names = []
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("app", sorted(LOWER_LAYERS))
def test_lower_apps_do_not_import_the_apps_built_on_them(app):
    """calls and telephony depend on agents; agents reaches them only through relations
    (`agent.calls`, `agent.phone_numbers`) or a function-local import."""
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / app).rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts
        for name in _module_level_imports(path)
        if name.split(".")[0] in LOWER_LAYERS[app]
    ]
    assert not offenders, offenders
