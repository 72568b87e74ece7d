"""Every command a container runs names a real entry point of this code base.

Commands come from docker-compose.yml (each app service's command and health check)
and the Dockerfile (CMD, HEALTHCHECK). `python manage.py X` must be a registered
management command, `celery --app=morpheus ...` must load our Celery app and parse
with Celery's own CLI, gunicorn's config must load through gunicorn and its WSGI
target must import, scripts must exist. An unrecognised command fails the test.
"""

import importlib
import re
import shlex

import click
import pytest
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.conf import settings
from django.core.management import get_commands
from gunicorn.app.base import Application

from morpheus.celery import app as morpheus_celery_app

from . import support
from .conftest import filled_env_values


def collect_entry_points() -> list[tuple[str, list[str]]]:
    stack = support.compose(filled_env_values())
    entries = []
    for name, service in support.app_services(stack).items():
        entries.append((f"{name}.command", list(service["command"])))
        healthcheck = service["healthcheck"]
        if not healthcheck.get("disable"):
            entries.append((f"{name}.healthcheck", support.healthcheck_argv(healthcheck["test"])))
    for instruction in support.read_dockerfile():
        if instruction.keyword in {"CMD", "HEALTHCHECK"}:
            entries.append((f"Dockerfile.{instruction.keyword}", instruction.exec_form()))
    return entries


ENTRY_POINTS = collect_entry_points()


def test_it_collects_every_container_command():
    labels = {label for label, _ in ENTRY_POINTS}
    assert {"migrate.command", "api.command", "api.healthcheck", "worker.command", "worker.healthcheck"} <= labels
    assert {"beat.command", "voice-worker.command", "Dockerfile.CMD", "Dockerfile.HEALTHCHECK"} <= labels


class GunicornConfigProbe(Application):
    """Loads a config file exactly as `gunicorn --config FILE` does, validating each setting."""

    def __init__(self, config_path):
        self.config_path = config_path
        super().__init__()

    def load_config(self):
        self.load_config_from_file(str(self.config_path))

    def load(self):
        raise AssertionError("never serves")


def check_manage_py(argv):
    assert argv[:2] == ["python", "manage.py"]
    command = argv[2]
    assert command in get_commands(), f"`manage.py {command}` is not a management command"


def check_celery(argv):
    """Parse with Celery's own click CLI: unknown sub-commands or options fail."""
    rest = argv[1:]
    sub_index = next(index for index, token in enumerate(rest) if token in celery_cli.commands)
    group_args, sub, sub_args = rest[:sub_index], rest[sub_index], rest[sub_index + 1 :]
    context = celery_cli.make_context("celery", [*group_args, sub])
    app_name = context.params["app"]
    assert app_name == "morpheus"
    app = importlib.import_module(app_name).celery_app
    assert app is morpheus_celery_app and app.main == "morpheus"
    context.obj = CLIContext(app=app, no_color=True, workdir=None)
    try:
        celery_cli.commands[sub].make_context(sub, list(sub_args), parent=context)
    except click.ClickException as error:
        pytest.fail(f"celery {sub} {shlex.join(sub_args)}: {error.format_message()}")


def check_gunicorn(argv):
    options = argv[1:]
    config = support.ROOT / options[options.index("--config") + 1]
    assert config.is_file()
    probe = GunicornConfigProbe(config)
    assert probe.cfg.accesslog == "-"
    target = options[-1]
    module_name, _, attribute = target.partition(":")
    application = getattr(importlib.import_module(module_name), attribute)
    assert callable(application)


def check_script(argv):
    script = support.ROOT / argv[1]
    assert script.is_file(), argv[1]
    for command in re.findall(r"manage\.py (\w+)", script.read_text()):
        assert command in get_commands(), f"{argv[1]} runs unknown `manage.py {command}`"


@pytest.mark.parametrize(("label", "argv"), ENTRY_POINTS, ids=[label for label, _ in ENTRY_POINTS])
def test_every_container_command_is_a_real_entry_point(label, argv):
    program = argv[0]
    if argv[:2] == ["python", "manage.py"]:
        check_manage_py(argv)
    elif program == "python" and argv[1].endswith(".py"):
        assert (support.ROOT / argv[1]).is_file(), argv[1]
    elif program == "celery":
        check_celery(argv)
    elif program == "gunicorn":
        check_gunicorn(argv)
    elif program == "sh":
        check_script(argv)
    else:
        pytest.fail(f"{label}: unrecognised entry point {argv!r}; teach this test to verify it")


def test_the_beat_schedule_only_names_registered_tasks():
    """Beat would enqueue names no worker knows; every scheduled task must be registered."""
    morpheus_celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    unknown = scheduled - set(morpheus_celery_app.tasks)
    assert not unknown, f"CELERY_BEAT_SCHEDULE names unregistered tasks: {sorted(unknown)}"


def test_the_celery_check_rejects_an_unknown_option():
    with pytest.raises(pytest.fail.Exception, match="No such option"):
        check_celery(["celery", "--app=morpheus", "worker", "--no-such-option"])


def test_the_manage_py_check_rejects_an_unknown_command():
    with pytest.raises(AssertionError, match="not a management command"):
        check_manage_py(["python", "manage.py", "no_such_command"])
