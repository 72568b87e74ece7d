"""The app's URLs plus the baselines benchmarks compare it with (benchmark settings only).

- `/bench/bare`: the least a Django JSON view does (same middleware, no DRF, no database).
- `/bench/sql`: a hand-written view issuing the SQL statements in BENCH_SQL_FILE (a JSON
  list, captured from the API request it stands for) and answering their rows as JSON:
  the same database work as the API view, without the framework path.
"""

import json
import os
from functools import cache

from django.db import connection
from django.http import JsonResponse
from django.urls import path

from morpheus.urls import handler404, handler500  # noqa: F401
from morpheus.urls import urlpatterns as app_urlpatterns


def bare(request):
    return JsonResponse({"status": "ok"})


@cache
def _statements() -> list[str]:
    with open(os.environ["BENCH_SQL_FILE"]) as handle:
        return json.load(handle)


def same_sql(request):
    results = []
    with connection.cursor() as cursor:
        for statement in _statements():
            cursor.execute(statement)
            results.append(cursor.fetchall())
    return JsonResponse({"results": results})


urlpatterns = [path("bench/bare", bare), path("bench/sql", same_sql), *app_urlpatterns]
