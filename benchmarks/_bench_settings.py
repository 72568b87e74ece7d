"""Settings for benchmarks that serve the app over HTTP: production settings (DEBUG off,
bcrypt, a real Celery broker when REDIS_URL is set), plus the comparison views of
`_bench_urls` and no limit that a benchmark's request rate would trip.

Never used outside benchmarks/ (the comparison views are not production URLs).
"""

from morpheus.settings import *  # noqa: F403
from morpheus.settings import REST_FRAMEWORK

ROOT_URLCONF = "benchmarks._bench_urls"
SECURE_SSL_REDIRECT = False  # plain HTTP on 127.0.0.1
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000000/min"),
}
# The inbound webhook's JSON form from the benchmark's own address; every post rings a new call.
VOICE_WEBHOOK_ALLOWED_IPS = ["127.0.0.1/32"]
VOICE_INBOUND_MAX_RINGING = 10**9
CALL_CONCURRENCY_LIMIT = 10**9
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
