"""Creates RECORDINGS_S3_BUCKET when it does not exist (the release step runs it)."""

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from calls import storage


class Command(BaseCommand):
    help = "Create the recordings bucket (RECORDINGS_S3_BUCKET) if it does not exist yet."

    def handle(self, *args, **options):
        bucket = settings.RECORDINGS_S3_BUCKET
        if not bucket:
            raise CommandError("RECORDINGS_S3_BUCKET is not set")
        client = storage.client()
        try:
            existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if bucket in existing:
                self.stdout.write(f"Bucket {bucket} exists")
                return
            client.create_bucket(Bucket=bucket)
        except (ClientError, BotoCoreError) as exc:
            raise CommandError(f"Recording storage is unavailable: {exc}") from exc
        self.stdout.write(f"Created bucket {bucket}")
