"""GET /calls at a million calls: against the raw SQL for the same page and total, and
against the same request at 10,000 calls, for no filter, a status and an agent.

    .venv/bin/python benchmarks/calls_list.py

The data set (two tenants of 1,000,000 calls, one of 10,000; _calls_data.py) is built once
into `<DATABASE_URL's name>_calls_bench` and kept. Requests go through Django's test
client (the whole DRF stack with Bearer authentication, no HTTP). The raw SQL is what a
hand-written endpoint sends for the same answer: the page (`ORDER BY started_at DESC, id
DESC LIMIT 20`) and an exact `COUNT(*)` with the same filter.

Targets: API at 1M / raw SQL <= 2; API at 1M / API at 10k <= 1.5 (each filter).
"""

from _calls_data import data_set, use_kept_database
from harness import compare, heading, print_ratio, setup_django, size

PAGE = 20


def main() -> None:
    setup_django()
    import logging

    from django.db import connection

    from accounts.models import User
    from calls.models import Call
    from testsupport.api import client_for

    logging.disable(logging.WARNING)
    name = use_kept_database()
    data = data_set()
    columns = ", ".join(f'"{f.column}"' for f in Call._meta.concrete_fields)

    def api(tenant, query: str):
        client = client_for(User.objects.get(pk=tenant.owner_id))
        url = f"/api/v1/calls?page=1&limit={PAGE}{query}"

        def action() -> None:
            response = client.get(url)
            assert response.status_code == 200, response.content

        return action

    def raw(tenant, where: str, params: list):
        page_sql = (
            f"SELECT {columns} FROM calls_call WHERE customer_id = %s{where} "  # noqa: S608 - fixed columns
            f"ORDER BY started_at DESC, id DESC LIMIT {PAGE}"
        )
        count_sql = f"SELECT count(*) FROM calls_call WHERE customer_id = %s{where}"  # noqa: S608

        def action() -> None:
            with connection.cursor() as cursor:
                cursor.execute(page_sql, [tenant.customer_id, *params])
                assert len(cursor.fetchall()) == PAGE
                cursor.execute(count_sql, [tenant.customer_id, *params])
                cursor.fetchone()

        return action

    filters = {
        "no filter": ("", "", []),
        "status=failed": ("&status=failed", " AND status = %s", ["failed"]),
        "agentId": ("&agentId={agent}", " AND agent_id = %s", ["{agent}"]),
    }
    n = size(60, 10)
    met = []
    for label, (query, where, params) in filters.items():
        big_query = query.format(agent=data.big.agent_ids[0])
        small_query = query.format(agent=data.small.agent_ids[0])
        big_params = [p.format(agent=data.big.agent_ids[0]) for p in params]
        heading(f"GET /calls {label}: {data.big.calls:,} calls vs raw SQL vs {data.small.calls:,} calls ({name})")
        stats = compare(
            {
                "raw SQL page + COUNT(*) at 1M": raw(data.big, where, big_params),
                "API at 1M": api(data.big, big_query),
                "API at 10k": api(data.small, small_query),
            },
            n=n,
            warmup=5,
            baseline="raw SQL page + COUNT(*) at 1M",
        )
        big, small, sql = stats["API at 1M"], stats["API at 10k"], stats["raw SQL page + COUNT(*) at 1M"]
        met.append(print_ratio(f"{label}: API at 1M p50 / raw SQL p50", big.p50 / sql.p50, 2))
        met.append(print_ratio(f"{label}: API at 1M p50 / API at 10k p50", big.p50 / small.p50, 1.5))
    print(f"\n{sum(met)} of {len(met)} targets met")


if __name__ == "__main__":
    main()
