"""The Dockerfile read instruction by instruction, and its build step replayed.

Docker cannot run here; the build step that matters beyond pip (collectstatic with
production settings) is replayed on a copy of exactly the build context
.dockerignore lets through, with the image's environment.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from . import support
from .conftest import process_environment

INSTRUCTIONS = support.read_dockerfile()
KEYWORDS = [instruction.keyword for instruction in INSTRUCTIONS]


def index_of(predicate) -> int:
    return next(index for index, instruction in enumerate(INSTRUCTIONS) if predicate(instruction))


def test_it_builds_on_slim_python_311():
    assert KEYWORDS.count("FROM") == 1
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", INSTRUCTIONS[0].arguments)


def test_dependencies_are_installed_in_their_own_cached_layer():
    copy_requirements = index_of(lambda i: i.keyword == "COPY" and i.arguments.startswith("requirements.txt "))
    install = index_of(lambda i: i.keyword == "RUN" and "pip install" in i.arguments)
    copy_code = index_of(lambda i: i.keyword == "COPY" and i.arguments.startswith(". "))
    assert copy_requirements < install < copy_code, "code changes must not invalidate the dependency layer"
    install_run = INSTRUCTIONS[install].arguments
    assert "--requirement /app/requirements.txt" in install_run
    assert "--mount=type=cache,target=/root/.cache/pip" in install_run
    assert "requirements-dev" not in install_run, "test tools stay out of the production image"


def test_static_files_are_collected_at_build_after_the_code_is_copied():
    copy_code = index_of(lambda i: i.keyword == "COPY" and i.arguments.startswith(". "))
    collect = index_of(lambda i: i.keyword == "RUN" and "collectstatic --noinput" in i.arguments)
    assert copy_code < collect


def test_it_runs_as_an_unprivileged_user():
    user = index_of(lambda i: i.keyword == "USER")
    name = INSTRUCTIONS[user].arguments.split(":")[0]
    assert name not in {"root", "0"}
    assert f"useradd --system --uid 10001 --gid {name}" in " ".join(i.arguments for i in INSTRUCTIONS)
    assert user > max(index for index, keyword in enumerate(KEYWORDS) if keyword in {"RUN", "COPY"})
    assert user < KEYWORDS.index("CMD")


def test_the_default_command_is_the_compose_api_command():
    stack = support.raw_compose()
    cmd = INSTRUCTIONS[KEYWORDS.index("CMD")].exec_form()
    assert cmd == ["gunicorn", "--config", "deploy/gunicorn.conf.py", "morpheus.wsgi:application"]
    assert cmd == stack["services"]["api"]["command"]
    healthcheck = INSTRUCTIONS[KEYWORDS.index("HEALTHCHECK")].exec_form()
    assert ["CMD", *healthcheck] == stack["services"]["api"]["healthcheck"]["test"]
    assert "EXPOSE" in KEYWORDS
    assert INSTRUCTIONS[KEYWORDS.index("EXPOSE")].arguments == "8000"


SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|DATABASE_URL|EMAIL_URL|REDIS_URL")


def test_no_secret_or_deployment_setting_is_baked_into_the_image():
    image_env = support.dockerfile_env(INSTRUCTIONS)
    assert not [name for name in image_env if SECRET_NAME.search(name)]
    assert "ARG" not in KEYWORDS, "build arguments end up in the image history"
    # The one secret-named value is scoped to the collectstatic RUN and says it is none.
    inline = re.findall(r"\b([A-Z_]+)=(\S+)", " ".join(i.arguments for i in INSTRUCTIONS if i.keyword == "RUN"))
    assert [(name, value) for name, value in inline if SECRET_NAME.search(name)] == [
        ("SECRET_KEY", "collectstatic-build-step-only-not-a-secret")
    ]
    assert image_env["DJANGO_SETTINGS_MODULE"] == "morpheus.settings"


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        (".env", True),
        (".env.production", True),
        (".env.example", False),
        (".git", True),
        (".venv/bin/python", True),
        ("db.sqlite3", True),
        ("staticfiles/admin/css/base.css", True),
        ("accounts/__pycache__/models.cpython-311.pyc", True),
        ("manage.py", False),
        ("requirements.txt", False),
        ("deploy/gunicorn.conf.py", False),
        ("morpheus/settings.py", False),
        ("accounts/templates/emails/invitation.txt", False),
    ],
)
def test_the_build_context_holds_the_code_and_no_local_state(path, ignored):
    assert support.is_ignored(path, support.dockerignore_rules()) is ignored


def copy_build_context(destination: Path) -> None:
    """Copies what `docker build .` would send, honouring .dockerignore."""
    rules = support.dockerignore_rules()
    for directory, subdirectories, files in os.walk(support.ROOT):
        relative = Path(directory).relative_to(support.ROOT)
        subdirectories[:] = [
            name
            for name in subdirectories
            if not support.is_ignored((relative / name).as_posix(), rules) and not (Path(directory) / name).is_symlink()
        ]
        for name in files:
            source = Path(directory) / name
            if support.is_ignored((relative / name).as_posix(), rules):
                continue
            target = destination / relative / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.mark.slow
def test_the_collectstatic_build_step_succeeds_with_production_settings(tmp_path):
    app_dir = tmp_path / "app"
    copy_build_context(app_dir)
    assert (app_dir / "manage.py").is_file()
    assert (app_dir / "deploy" / "gunicorn.conf.py").is_file()
    assert not (app_dir / ".env").exists()

    step = next(i.arguments for i in INSTRUCTIONS if i.keyword == "RUN" and "collectstatic" in i.arguments)
    # Only the image's ENV: no SECRET_KEY or DEBUG from the test run leaks in.
    result = subprocess.run(
        ["sh", "-c", step],
        cwd=app_dir,
        env=process_environment({}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    static_root = app_dir / "staticfiles"
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["admin/css/base.css"]
    assert re.fullmatch(r"admin/css/base\.[0-9a-f]{12}\.css", hashed)
    assert (static_root / hashed).is_file()
    assert (static_root / f"{hashed}.gz").is_file(), "WhiteNoise serves precompressed files"
    assert any(path.startswith("drf_spectacular_sidecar/") or path.startswith("rest_framework/") for path in manifest)
    # The byte-compile half of the step ran too (start-up without writing to /app).
    assert list((app_dir / "morpheus" / "__pycache__").glob("settings.cpython-311.pyc"))
