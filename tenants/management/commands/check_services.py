"""`manage.py check_services`: every dependency, one line each; exit 1 when one is down.

Usable as a container health check: `python manage.py check_services --require redis,celery`.
The probes are the platform health report's (tenants.system_health), run side by side.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from tenants import system_health
from tenants.system_health import DOWN, EAGER, NOT_CONFIGURED, UP

SERVICES = ("database", "redis", "celery", "livekit")
# The database is always required; the others only when configured, or when --require names them.
OPTIONAL = ("redis", "celery", "livekit")
LABELS = {UP: "up", DOWN: "DOWN", NOT_CONFIGURED: "not configured", EAGER: "eager"}


def _services(value: str, option: str) -> set[str]:
    names = {name.strip().lower() for name in (value or "").split(",") if name.strip()}
    unknown = names - set(SERVICES)
    if unknown:
        raise CommandError(f"Unknown service(s) in {option}: {', '.join(sorted(unknown))}; use {', '.join(OPTIONAL)}")
    return names


def _detail(name: str, check: dict) -> str:
    if check.get("error"):
        return check["error"]
    status = check["status"]
    if status == NOT_CONFIGURED:
        return {"redis": "REDIS_URL is unset", "livekit": "LIVEKIT_URL is unset"}.get(name, "")
    if status == EAGER:
        return "tasks run inline in this process (no broker, no worker)"
    if name == "database":
        return f"{check.get('vendor')} {check.get('serverVersion') or ''}".strip()
    if name == "redis":
        return f"Redis {check.get('serverVersion')}, {check.get('connectedClients')} client(s)"
    if name == "celery":
        return f"worker(s): {', '.join(check.get('workers') or [])}"
    if name == "livekit":
        return f"{check.get('host')}, {check.get('rooms')} room(s)"
    return ""


def _problem(name: str, check: dict, required: set[str], ignored: set[str] = frozenset()) -> str | None:
    """Why this check fails the command, or None when it passes."""
    status = check["status"]
    if status == UP or name in ignored:
        return None
    if status == DOWN:
        return f"{name} is down"
    if name == "database" or name in required:
        return f"{name} is required but {LABELS[status]}"
    return None


class Command(BaseCommand):
    help = (
        "Checks the database, Redis, the Celery workers (a broadcast ping through the broker) and LiveKit "
        "(RoomService.ListRooms), printing each one's status and latency. Exits 1 when the database or any "
        "configured service is down, or a service named in --require is not configured (0 otherwise), so it "
        "works as a container health check."
    )
    # A health check must be quick and must not fail for reasons other than the services.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--require",
            default="",
            metavar="SERVICES",
            help="Comma-separated services that must be up even if unconfigured or eager: redis,celery,livekit.",
        )
        parser.add_argument(
            "--ignore",
            default="",
            metavar="SERVICES",
            help="Comma-separated services that are reported but never fail the check (e.g. celery for the API's "
            "own health check). The database cannot be ignored.",
        )
        parser.add_argument("--json", action="store_true", help="Print the checks as JSON instead of lines.")

    def handle(self, *args, **options):
        required = _services(options["require"], "--require")
        ignored = _services(options["ignore"], "--ignore")
        if "database" in ignored:
            raise CommandError("The database cannot be ignored: nothing works without it")
        if required & ignored:
            raise CommandError(f"Both required and ignored: {', '.join(sorted(required & ignored))}")
        checks = system_health.system_health_report()["checks"]
        problems = [p for p in (_problem(name, checks[name], required, ignored) for name in SERVICES) if p]

        if options["json"]:
            payload = {
                "ok": not problems,
                "required": sorted(required | {"database"}),
                "ignored": sorted(ignored),
                "checks": checks,
            }
            self.stdout.write(json.dumps(payload, indent=2, default=str))
        else:
            for name in SERVICES:
                self.stdout.write(self._line(name, checks[name], required, ignored))
        if problems:
            raise CommandError("; ".join(problems))
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS("All required services are available."))

    def _line(self, name: str, check: dict, required: set[str], ignored: set[str]) -> str:
        status = check["status"]
        latency = f"{check['latencyMs']:.1f} ms" if check.get("latencyMs") is not None else "-"
        text = f"{LABELS[status]} (ignored)" if name in ignored and status == DOWN else LABELS[status]
        label = f"{text:<15}"
        if _problem(name, check, required, ignored):
            label = self.style.ERROR(label)
        elif status == UP:
            label = self.style.SUCCESS(label)
        return f"{name:<9} {label} {latency:>10}  {_detail(name, check)}".rstrip()
