"""Fixtures for the deployment tests: .env.example filled in as an operator would."""

import os
import secrets
import sys
from pathlib import Path

import pytest

from . import support


def filled_env_values() -> dict[str, str]:
    """The .env an operator gets from `cp .env.example .env` plus the REQUIRED values."""
    entries = support.read_env_file()
    values = support.dotenv_values(entries)
    fills = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "LIVEKIT_API_KEY": f"API{secrets.token_hex(6)}",
        "LIVEKIT_API_SECRET": secrets.token_hex(32),
    }
    required = {entry.name for entry in entries if entry.required}
    assert required == set(fills), f"REQUIRED variables changed: {sorted(required)}; teach the tests their values"
    values.update(fills)
    return values


@pytest.fixture
def env_values():
    return filled_env_values()


@pytest.fixture
def stack(env_values):
    """docker-compose.yml as Compose resolves it with that .env."""
    return support.compose(env_values)


def process_environment(container_env: dict[str, str], **overrides: str | None) -> dict[str, str]:
    """A subprocess environment like the container's: the image's ENV, then the
    container's variables, and nothing inherited from the test run."""
    image_env = support.dockerfile_env(support.read_dockerfile())
    venv_bin = str(Path(sys.executable).parent)
    image_env["PATH"] = os.pathsep.join([venv_bin, "/usr/local/bin", "/usr/bin", "/bin"])
    image_env.pop("VIRTUAL_ENV", None)
    environment = {**image_env, **container_env, "HOME": os.environ.get("HOME", "/tmp")}
    for name, value in overrides.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment
