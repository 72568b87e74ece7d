"""`manage.py run_voice_worker`: help, refusing to start unconfigured, and stopping cleanly."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

MANAGE = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "run_voice_worker"]


def worker_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env["DJANGO_SETTINGS_MODULE"] = "morpheus.test_settings"
    env.update(extra)
    return env


@pytest.mark.slow
def test_help_describes_the_worker_and_its_options():
    result = subprocess.run([*MANAGE, "--help"], capture_output=True, text=True, timeout=120, env=worker_env())
    assert result.returncode == 0, result.stderr
    assert "registers with LiveKit" in result.stdout
    for option in ("--num-idle-processes", "--load-threshold", "--drain-timeout", "--job-memory-limit-mb", "--port"):
        assert option in result.stdout


def test_it_refuses_to_start_without_livekit_settings(settings):
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = "", "key", ""
    with pytest.raises(CommandError) as error:
        call_command("run_voice_worker")
    assert str(error.value) == (
        "LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_SECRET in the environment (see docs/voice-worker.md)."
    )


@pytest.mark.slow
def test_it_exits_non_zero_with_a_clear_message_when_unconfigured():
    result = subprocess.run(MANAGE, capture_output=True, text=True, timeout=120, env=worker_env())
    assert result.returncode == 1
    assert "LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET" in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--load-threshold", "1.5"], "--load-threshold must be between 0 and 1."),
        (["--num-idle-processes", "-1"], "--num-idle-processes must be 0 or more."),
    ],
)
def test_it_refuses_nonsense_limits(settings, options, message):
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = "ws://lk", "key", "secret"
    with pytest.raises(CommandError) as error:
        call_command("run_voice_worker", *options)
    assert str(error.value) == message


@pytest.mark.slow
def test_the_worker_takes_explicit_dispatches_and_stops_cleanly_on_sigterm(tmp_path):
    """Started against a LiveKit that is not there (it keeps retrying), the worker warms a job
    process (forkserver preload, then prewarm: Django and the VAD), serves its health
    endpoints, registers under VOICE_AGENT_NAME (explicit dispatch only), and on SIGTERM
    drains (no calls in progress) and exits 0."""
    log = tmp_path / "worker.log"
    env = worker_env(
        LIVEKIT_URL="ws://127.0.0.1:9",
        LIVEKIT_API_KEY="key",
        LIVEKIT_API_SECRET="secret" * 6,
        VOICE_AGENT_NAME="acme-voice",
    )
    with log.open("w") as out:
        process = subprocess.Popen(
            [*MANAGE, "--num-idle-processes", "1", "--host", "127.0.0.1", "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while "process initialized" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        listening = re.search(r"HTTP server listening on [^:]*:(\d+)", log.read_text())
        base = f"http://127.0.0.1:{listening.group(1)}"
        with urllib.request.urlopen(f"{base}/", timeout=10) as health:
            assert health.status == 200 and health.read() == b"OK"
        with urllib.request.urlopen(f"{base}/worker", timeout=10) as info:
            worker = json.loads(info.read())
        assert worker["agent_name"] == "acme-voice" and worker["worker_type"] == "JT_ROOM"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()
    assert "draining worker" in output and "voice worker stopped" in output
    assert "Traceback" not in output


def test_the_worker_makes_livekits_loop_monitor_tick_every_50_ms_unless_told_otherwise(settings, monkeypatch):
    """LiveKit's event-loop monitor wakes every job process twice per tick; at its 100 ms
    default that is every 20 ms, on calls that mostly wait. The worker sets 250 ms (a 50 ms
    tick) in the environment its job processes read, unless the operator set it."""
    from livekit.agents.telemetry import loop_monitor

    from voice_worker.worker import WorkerSettings, build_server

    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = "ws://lk", "key", "secret"
    options = WorkerSettings(
        agent_name="acme-voice",
        num_idle_processes=0,
        load_threshold=0.75,
        drain_timeout=10,
        job_memory_warn_mb=800,
        job_memory_limit_mb=0,
        host="127.0.0.1",
        port=0,
        log_level="INFO",
    )
    monkeypatch.setenv(loop_monitor.ENV_WARN_THRESHOLD_MS, "unset")  # restored after the test
    monkeypatch.delenv(loop_monitor.ENV_WARN_THRESHOLD_MS)
    build_server(options)
    thresholds = loop_monitor.LoopMonitorThresholds.from_env()
    assert thresholds is not None and thresholds.warn == 0.25
    assert loop_monitor._tick_interval_for(thresholds.warn) == 0.05

    monkeypatch.setenv(loop_monitor.ENV_WARN_THRESHOLD_MS, "0")  # the operator turned it off
    build_server(options)
    assert loop_monitor.LoopMonitorThresholds.from_env() is None
