"""Settings as a fresh process sees them: refusal without SECRET_KEY, a clean --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY", "DEBUG"))}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_it_refuses_to_start_without_a_secret_key_when_not_debugging():
    result = _manage("check", env_overrides={"DEBUG": "false", "DJANGO_SETTINGS_MODULE": "morpheus.settings"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.slow
def test_it_passes_the_deploy_check_with_production_variables():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "DJANGO_SETTINGS_MODULE": "morpheus.settings",
            "DEBUG": "false",
            "SECRET_KEY": "k3Jd8!x2-PZq7s@Lm4^Nv9&Rt6*Wb1(Yc5)Hf0_Ug8+Ei3=Oa2#Tl7",
            "ALLOWED_HOSTS": "api.example.com",
            "VOICE_WEBHOOK_SECRET": "a-secret-for-the-json-voice-webhook",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
