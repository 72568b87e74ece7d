"""`manage.py setup_livekit_sip`: the LiveKit inbound trunk and dispatch rule phone calls need."""

from django.core.management.base import BaseCommand, CommandError

from calls.livekit_client import LiveKitUnavailable
from telephony.services import SipSetupRefused, livekit_sip_setup


class Command(BaseCommand):
    help = (
        "Creates or updates, in the LiveKit project of LIVEKIT_URL, the inbound SIP trunk carriers' calls "
        "arrive on and the callee dispatch rule that puts each caller in its call's room. Idempotent: both "
        "are found by name and updated in place. Options given replace the trunk's settings; omitted ones "
        "keep what the trunk has."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allowed-address",
            action="append",
            dest="allowed_addresses",
            metavar="IP_OR_CIDR",
            help="Accept calls only from this address or range (repeat for each; your carriers' signalling IPs).",
        )
        parser.add_argument("--allow-any-address", action="store_true", help="Clear the trunk's address restriction.")
        parser.add_argument("--auth-username", help="SIP digest username carriers authenticate with.")
        parser.add_argument("--auth-password", help="SIP digest password (with --auth-username).")
        parser.add_argument("--no-auth", action="store_true", help="Clear the trunk's digest credentials.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; change nothing.")
        outbound = parser.add_argument_group("outbound (the platform trunk outbound calls dial through)")
        outbound.add_argument(
            "--outbound",
            action="store_true",
            help="Create or update the platform's outbound SIP trunk instead of the inbound setup.",
        )
        outbound.add_argument("--outbound-address", help="The carrier's SIP host[:port] (no sip:).")
        outbound.add_argument("--outbound-transport", default="auto", choices=["auto", "udp", "tcp", "tls"])
        outbound.add_argument("--outbound-auth-username", default="", help="Digest username the carrier expects.")
        outbound.add_argument("--outbound-auth-password", default="", help="Digest password (stored encrypted).")

    def handle(self, *args, **options):
        if options["outbound"]:
            return self._outbound(options)
        if options["allow_any_address"] and options["allowed_addresses"]:
            raise CommandError("--allowed-address and --allow-any-address contradict each other")
        if options["no_auth"] and (options["auth_username"] or options["auth_password"]):
            raise CommandError("--no-auth and --auth-username/--auth-password contradict each other")
        addresses = [] if options["allow_any_address"] else options["allowed_addresses"]
        username, password = options["auth_username"], options["auth_password"]
        if options["no_auth"]:
            username = password = ""
        try:
            result = livekit_sip_setup(
                allowed_addresses=addresses,
                auth_username=username,
                auth_password=password,
                dry_run=options["dry_run"],
            )
        except SipSetupRefused as exc:
            raise CommandError(f"{exc}. Nothing was changed.") from exc
        except LiveKitUnavailable as exc:
            raise CommandError(
                f"LiveKit did not answer as expected: {exc}. Running the command again is safe: "
                "what it already set up is found and updated, never duplicated."
            ) from exc

        for step in (result.trunk, result.rule):
            label = f"{step.kind} {step.id}" if step.id else step.kind
            self.stdout.write(f"{label}: {step.outcome}")
        trunk = result.trunk.info
        addresses = ", ".join(trunk.allowed_addresses) or "any"
        self.stdout.write(f"  accepts calls from: {addresses}; digest auth: {'yes' if trunk.auth_username else 'no'}")
        self.stdout.write(f"  phone numbers on the platform: {result.phone_numbers} (routed by the carrier webhooks)")
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"Warning: {warning}"))
        if options["dry_run"]:
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was changed."))
        else:
            self.stdout.write(self.style.SUCCESS("LiveKit SIP is set up."))
        return None

    def _outbound(self, options):
        from django.core.exceptions import ValidationError

        from calls.livekit_client import LiveKitRefused
        from telephony.trunks import platform_trunk_setup

        if not options["outbound_address"]:
            raise CommandError("--outbound needs --outbound-address (the carrier's SIP host)")
        try:
            trunk, outcome = platform_trunk_setup(
                address=options["outbound_address"],
                transport=options["outbound_transport"],
                auth_username=options["outbound_auth_username"],
                auth_password=options["outbound_auth_password"],
            )
        except ValidationError as exc:
            raise CommandError(f"Invalid trunk: {exc.message_dict}. Nothing was changed.") from exc
        except LiveKitRefused as exc:
            raise CommandError(f"{exc.message}. Nothing was changed.") from exc
        except LiveKitUnavailable as exc:
            raise CommandError(
                f"LiveKit did not answer as expected: {exc}. Running the command again is safe."
            ) from exc
        self.stdout.write(f"outbound trunk {trunk.livekit_trunk_id}: {outcome}")
        self.stdout.write(
            f"  dials through: {trunk.address} ({trunk.transport}); digest auth: "
            f"{'yes' if trunk.auth_username else 'no'}"
        )
        self.stdout.write(self.style.SUCCESS("LiveKit outbound SIP is set up."))
