"""`python manage.py run_voice_worker`: the LiveKit Agents worker that answers calls."""

import logging
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from voice_worker.worker import WorkerSettings, missing_livekit_settings


class Command(BaseCommand):
    help = (
        "Runs the voice worker: registers with LiveKit (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET) "
        "under VOICE_AGENT_NAME for explicit dispatch, and runs each dispatched call's STT -> LLM -> TTS "
        "pipeline in its own process. SIGTERM stops taking calls and waits for calls in progress."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--num-idle-processes",
            type=int,
            default=min(os.cpu_count() or 1, 4),
            help="Warm job processes kept ready (each loads Django and the VAD). Default: CPUs, at most 4.",
        )
        parser.add_argument(
            "--load-threshold",
            type=float,
            default=0.75,
            help="CPU load (0-1) above which the worker stops accepting calls. Default: 0.75.",
        )
        parser.add_argument(
            "--drain-timeout",
            type=int,
            default=1800,
            help="Seconds to wait for calls in progress after SIGTERM. Default: 1800 (the default max call length).",
        )
        parser.add_argument(
            "--job-memory-warn-mb", type=float, default=800, help="Log a warning when a call's process exceeds this."
        )
        parser.add_argument(
            "--job-memory-limit-mb",
            type=float,
            default=0,
            help="Kill a call's process above this much memory (0: no limit).",
        )
        parser.add_argument(
            "--download-files",
            action="store_true",
            help="Download the plugins' model files (the end-of-turn model's weights) and exit; run at image build.",
        )
        parser.add_argument("--host", default="", help="Address of the health-check HTTP server. Default: all.")
        parser.add_argument("--port", type=int, default=8081, help="Port of the health-check server (0: any free).")
        parser.add_argument(
            "--log-level",
            default="INFO",
            choices=["DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"],
            help="Default: INFO.",
        )

    def handle(self, *args, **options):
        if options["download_files"]:
            self._download_files()
            return
        missing = missing_livekit_settings()
        if missing:
            raise CommandError(
                f"LiveKit is not configured: set {', '.join(missing)} in the environment (see docs/voice-worker.md)."
            )
        agent_name = settings.VOICE_AGENT_NAME
        if not agent_name:
            raise CommandError("VOICE_AGENT_NAME is empty: the worker only takes calls dispatched to it by name.")
        if options["num_idle_processes"] < 0:
            raise CommandError("--num-idle-processes must be 0 or more.")
        if not 0 < options["load_threshold"] <= 1:
            raise CommandError("--load-threshold must be between 0 and 1.")

        logging.getLogger().setLevel(options["log_level"].replace("WARN", "WARNING"))
        worker_settings = WorkerSettings(
            agent_name=agent_name,
            num_idle_processes=options["num_idle_processes"],
            load_threshold=options["load_threshold"],
            drain_timeout=options["drain_timeout"],
            job_memory_warn_mb=options["job_memory_warn_mb"],
            job_memory_limit_mb=options["job_memory_limit_mb"],
            host=options["host"],
            port=options["port"],
            log_level=options["log_level"],
        )
        # Imported only now: the agent runtime and its plugins are heavy, and nothing
        # else run through manage.py needs them.
        from voice_worker.worker import build_server, run_server

        self.stdout.write(f"Voice worker '{agent_name}' connecting to {settings.LIVEKIT_URL}")
        server = build_server(worker_settings)
        try:
            run_server(server, drain_timeout=worker_settings.drain_timeout)
        except Exception as exc:
            raise CommandError(f"The voice worker stopped: {exc}")

    def _download_files(self) -> None:
        from livekit.agents import Plugin

        from voice_worker.providers import import_plugin
        from voice_worker.worker import PLUGINS, TURN_DETECTOR

        for name in (*PLUGINS, TURN_DETECTOR):
            import_plugin(name)
        for plugin in Plugin.registered_plugins:
            self.stdout.write(f"downloading the files of {plugin.title} {plugin.version}")
            plugin.download_files()
        self.stdout.write("done")
