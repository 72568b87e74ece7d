"""`manage.py seed_demo`: a demo tenant to try the platform with, and how to log in."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from morpheus.admin_site import refusal_message
from morpheus.errors import DomainError
from tenants.services import DemoSeedRefused, demo_tenant_seed

DEFAULT_EMAIL = "demo@example.com"
DEFAULT_COMPANY = "Demo Company"
# +1 555 01xx is reserved for fiction: it can never be a real subscriber's number.
DEFAULT_NUMBER = "+15550100100"


class Command(BaseCommand):
    help = (
        "Creates a demo tenant: an owner who can log in, their customer, an active agent on the catalogue's "
        "default providers and a phone number routed to it, then prints how to log in. Idempotent: running "
        "it again finds them and only fixes what changed (the password is kept unless --password is given)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default=DEFAULT_EMAIL, help="The owner's email (default %(default)s).")
        parser.add_argument(
            "--password", help="The owner's password; generated and printed when the owner is created without it."
        )
        parser.add_argument("--company", default=DEFAULT_COMPANY, help="Company name (default %(default)s).")
        parser.add_argument(
            "--phone-number", default=DEFAULT_NUMBER, help="E.164 number for the agent (default %(default)s)."
        )

    def handle(self, *args, **options):
        try:
            demo = demo_tenant_seed(
                email=options["email"],
                password=options["password"],
                company_name=options["company"],
                phone_number=options["phone_number"],
            )
        except DemoSeedRefused as exc:
            raise CommandError(f"{exc}. Nothing was changed.") from exc
        except (ValidationError, DomainError) as exc:
            raise CommandError(f"{refusal_message(exc)}. Nothing was changed.") from exc
        except DatabaseError as exc:
            raise CommandError(f"The database is unavailable or not migrated: {exc}") from exc

        agent, line = demo.agent, demo.phone_number
        summary = ", ".join(demo.changes) if demo.changes else "already in place, nothing changed"
        self.stdout.write(self.style.SUCCESS(f"Demo tenant ready ({summary})."))
        rows = [
            ("customer", f"{demo.customer.company_name} ({demo.customer.pk})"),
            ("owner", demo.owner.email),
            ("password", demo.password or "unchanged (pass --password to set a new one)"),
            (
                "agent",
                f"#{agent.pk} {agent.name}, {agent.status}: LLM {agent.llm_provider.name} {agent.effective_llm_model}, "
                f"STT {agent.stt_provider.name} {agent.effective_stt_model}, "
                f"TTS {agent.tts_provider.name} {agent.effective_tts_model} voice {agent.effective_voice_id}",
            ),
            ("number", f"{line.phone_number} -> agent #{agent.pk}"),
        ]
        for label, value in rows:
            self.stdout.write(f"  {label:<9} {value}")
        password = demo.password or "<password>"
        self.stdout.write("Log in to the API (POST /api/v1/auth/login), e.g. on `make run`'s server:")
        self.stdout.write(
            "  curl -s http://localhost:8000/api/v1/auth/login -H 'Content-Type: application/json' "
            f'-d \'{{"email": "{demo.owner.email}", "password": "{password}"}}\''
        )
