"""`manage.py run_agent_tests --agent ID [--version N] [--junit FILE]`: for customers' CI."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from agents.models import Agent
from morpheus.errors import DomainError, ValidationFailed

from ...execution import test_run_execute
from ...junit import junit_xml
from ...models import TestRunStatus, TestRunTrigger
from ...services import test_run_start


class Command(BaseCommand):
    help = (
        "Runs an agent's test cases against one of its versions (default: the latest), prints each case's "
        "verdict, optionally writes a JUnit XML report, and exits non-zero when any case failed or errored."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version N` is the agent version (the CLI); it replaces Django's own
        # --version (the framework's version), which this command does not need.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--agent", type=int, required=True, help="The agent's id.")
        parser.add_argument("--version", type=int, help="The agent version to test (default: the latest).")
        parser.add_argument("--case", type=int, action="append", dest="cases", help="Only this test case (repeat).")
        parser.add_argument("--junit", metavar="FILE", help="Write a JUnit XML report to FILE.")

    def handle(self, *args, **options):
        agent = Agent.objects.select_related("llm_provider", "customer").filter(pk=options["agent"]).first()
        if agent is None:
            raise CommandError(f"Agent with ID {options['agent']} does not exist")
        try:
            run = test_run_start(
                agent=agent,
                test_case_ids=options["cases"],
                version=options["version"],
                trigger=TestRunTrigger.COMMAND,
                enqueue=False,
            )
        except ValidationFailed as exc:
            raise CommandError("; ".join(m for messages in exc.errors.values() for m in messages)) from exc
        except (DomainError, ValidationError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from exc
        self.stdout.write(f"Test run {run.pk}: agent {agent.pk} ({agent.name}) version {run.version.number}")
        run = test_run_execute(run_id=run.pk)
        for result in run.results.order_by("id"):
            line = f"  {result.verdict.upper():<5} {result.name}"
            if result.failure:
                line += f" - {result.failure.get('message', '')}"
                if result.failure.get("reasoning"):
                    line += f" (judge: {result.failure['reasoning']})"
            elif result.error_message:
                line += f" - {result.error_message}"
            if result.unmocked_tools:
                line += f" [not called, no mock: {', '.join(result.unmocked_tools)}]"
            self.stdout.write(line)
        summary = f"{run.status}: {run.passed_count} passed, {run.failed_count} failed, {run.error_count} errors"
        if options["junit"]:
            with open(options["junit"], "wb") as report:
                report.write(junit_xml(run))
            summary += f"; JUnit report in {options['junit']}"
        if run.status != TestRunStatus.PASSED:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))
