"""GET /calls/:id with a 1,000-turn transcript against the raw SQL for the same rows.

    .venv/bin/python benchmarks/call_detail.py

The call lives in the kept calls data set (_calls_data.py). The raw SQL reads the call's
row and its turns in order, as a hand-written endpoint would before rendering them.

Target: API p50 / raw SQL p50 <= 4.
"""

from _calls_data import TURNS, data_set, use_kept_database
from harness import compare, heading, print_ratio, setup_django, size


def main() -> None:
    setup_django()
    import logging

    from django.db import connection

    from accounts.models import User
    from calls.models import Call, TranscriptTurn
    from testsupport.api import client_for

    logging.disable(logging.WARNING)
    name = use_kept_database()
    data = data_set()
    call_id = data.detail_call_id
    client = client_for(User.objects.get(pk=data.small.owner_id))
    call_columns = ", ".join(f'"{f.column}"' for f in Call._meta.concrete_fields)
    turn_columns = ", ".join(f'"{f.column}"' for f in TranscriptTurn._meta.concrete_fields)

    def api(url: str):
        def action() -> None:
            response = client.get(url)
            assert response.status_code == 200, response.content

        return action

    def raw() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {call_columns} FROM calls_call WHERE id = %s", [call_id])  # noqa: S608
            cursor.fetchone()
            cursor.execute(
                f"SELECT {turn_columns} FROM calls_transcriptturn WHERE call_id = %s ORDER BY id",  # noqa: S608
                [call_id],
            )
            assert len(cursor.fetchall()) == TURNS

    heading(f"GET /calls/:id with {TURNS:,} turns vs raw SQL for the same rows ({name})")
    stats = compare(
        {"raw SQL call + turns": raw, "API GET /calls/:id": api(f"/api/v1/calls/{call_id}")},
        n=size(60, 10),
        warmup=5,
        baseline="raw SQL call + turns",
    )
    met = print_ratio(
        "GET /calls/:id p50 / raw SQL p50", stats["API GET /calls/:id"].p50 / stats["raw SQL call + turns"].p50, 4
    )
    print(f"\n{int(met)} of 1 targets met")


if __name__ == "__main__":
    main()
