"""Morpheus settings, read from the environment (DESIGN.md, Environment).

Every variable is optional: unset means an embedded default, so a fresh clone runs
the whole API on one machine (SQLite, local-memory cache, eager Celery, console mail).
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-morpheus-development-only-key-do-not-use-in-production"
SECRET_KEY = env("SECRET_KEY", default=None)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, or set DEBUG=true "
            "for local development with the embedded development key."
        )
    SECRET_KEY = _DEV_SECRET_KEY
# Old keys still accepted for signatures (sessions, emailed links) while rotating SECRET_KEY.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# How many reverse proxies in front of us append to X-Forwarded-For; 0 trusts none.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

INSTALLED_APPS = [
    "morpheus.admin_apps.MorpheusAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "morpheus",
    "accounts",
    "tenants",
    "agents",
    "telephony",
    "calls",
    "voice_worker",
    "analytics",
    "integrations",
    "campaigns",
    "evaluations",
]

MIDDLEWARE = [
    "morpheus.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "morpheus.api.middleware.ApiBodySizeMiddleware",
    "morpheus.api.middleware.ApiUnsafeInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "morpheus.urls"
WSGI_APPLICATION = "morpheus.wsgi.application"
ASGI_APPLICATION = "morpheus.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# Off by default: with persistent connections a health check is a `SELECT 1` round trip at
# the start of every request (more than a whole list page costs). Without it, a connection
# that died while idle (database restart, failover, a proxy's idle kill) fails the one request
# that finds it (a 503, morpheus/api/exceptions.py) and is dropped at the end of that request
# (errors_occurred), so the next one reconnects. Turn it on where dead idle connections are
# routine, e.g. behind a pooler with a short server idle timeout.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
# PostgreSQL plans each statement anew unless it is prepared: planning the inbound call's
# statements cost more server time than running them (docs/performance.md). Server-side
# parameters let psycopg prepare a statement once it has run DATABASE_PREPARE_THRESHOLD
# times on a connection (the ORM's statements repeat with new values). Prepared statements
# live in the server session, so a transaction-pooling PgBouncer (before 1.21's
# max_prepared_statements) needs DATABASE_PREPARE_THRESHOLD=-1: off, Django's default.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _prepare_threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=1)
    if _prepare_threshold >= 0:
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=_prepare_threshold
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "morpheus",
            "TIMEOUT": 300,
            # Redis gone answers in about a second (throttles then count per process, other
            # cache users answer 503), instead of hanging a request.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Bodies above this size are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
# Multipart uploads that may be larger (streamed to a temporary file, read row by row).
API_UPLOAD_LIMITS = {r"^/api/v1/campaigns/\d+/contacts$": 32 * 1024 * 1024}

# --- Mail -------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Morpheus <no-reply@localhost>")
FRONTEND_URL = env("FRONTEND_URL", default="http://localhost:3000").rstrip("/")
# The dashboard at FRONTEND_URL may always call the API (also in debug, out of the box);
# CORS_ALLOWED_ORIGINS adds other origins.
_frontend = urlsplit(FRONTEND_URL)
if _frontend.scheme and _frontend.netloc:
    _frontend_origin = f"{_frontend.scheme}://{_frontend.netloc}"
    if _frontend_origin not in CORS_ALLOWED_ORIGINS:
        CORS_ALLOWED_ORIGINS = [*CORS_ALLOWED_ORIGINS, _frontend_origin]

# --- REST framework ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["morpheus.api.renderers.EnvelopeRenderer"],
    "DEFAULT_PARSER_CLASSES": ["morpheus.api.parsers.JSONParser"],
    # API keys first: that class answers None for anything that is not "mk_…", and the JWT
    # class would refuse a key as a malformed token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.authentication.ApiKeyAuthentication",
        "accounts.authentication.AccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "morpheus.api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "morpheus.api.schema.MorpheusAutoSchema",
    "EXCEPTION_HANDLER": "morpheus.api.exceptions.envelope_exception_handler",
    "UNAUTHENTICATED_USER": None,
    # Datetimes leave serializers as objects; the renderer writes them as UTC with
    # milliseconds and "Z", the one format the spec uses.
    "DATETIME_FORMAT": None,
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env("THROTTLE_LOGIN_IP", default="30/min"),
        "login_email": env("THROTTLE_LOGIN_EMAIL", default="10/min"),
        "mail_ip": env("THROTTLE_MAIL_IP", default="20/hour"),
        "mail_email": env("THROTTLE_MAIL_EMAIL", default="5/hour"),
        "webhook": env("THROTTLE_WEBHOOK", default="600/min"),
        "invite": env("THROTTLE_INVITE", default="100/hour"),
        # Per API key, on every endpoint (integrations).
        "api_key": env("THROTTLE_API_KEY", default="600/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Morpheus API",
    "DESCRIPTION": (
        "Multi-tenant backend for AI voice agents. Every response under /api/v1 is wrapped "
        "in the envelope `{success, status, message, data, requestInfo}`; errors use "
        "`{success: false, statusCode, message, data: null, errors?, requestInfo}`. The one exception: "
        "the JSON form of `POST /webhooks/voice/inbound` answers success with the spec's bare "
        "`{action, roomName, agentId, ...}`. Every operation may answer 405, 415, 429 (with Retry-After) and "
        "503 (a dependency is down). Before any operation, the server refuses a request line over 8190 bytes "
        "(414) and more than 100 header fields or one over 8190 bytes (431); behind the shipped Caddy proxy "
        "those answers are the error envelope too."
    ),
    "VERSION": "1.0.0",
    # Swagger UI's assets are served by us (drf-spectacular-sidecar), not a CDN: /docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "GET_LIB_DOC_EXCLUDES": "morpheus.api.schema.doc_excludes",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "morpheus.api.schema.wrap_responses_in_envelope",
    ],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT or API key (mk_live_…)",
            },
            "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
    },
    "SECURITY": [{"bearerAuth": []}],
    "AUTHENTICATION_WHITELIST": [],
    # Several models have `status`/`role` fields with different choices; naming each
    # set keeps drf-spectacular from inventing hashed enum names (and warning).
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.Role",
        "UserStatusEnum": "accounts.models.UserStatus",
        "AgentStatusEnum": "agents.models.AgentStatus",
        "PhoneNumberCarrierEnum": "telephony.models.Carrier",
        "CallStatusEnum": "calls.models.CallStatus",
        "WebhookDeliveryStatusEnum": "integrations.models.DeliveryStatus",
        "TurnRoleEnum": "calls.models.TurnRole",
        "CarrierCallStatusEnum": "telephony.webhooks.status.CARRIER_STATUSES",
        "TenantRoleEnum": "tenants.serializers.TENANT_ROLE_CHOICES",
        "CustomerStatusEnum": "tenants.models.CustomerStatus",
        "HealthStatusEnum": ["healthy", "unhealthy"],
        "SystemHealthStatusEnum": "tenants.serializers.HEALTH_STATUSES",
        "ComponentStatusEnum": "tenants.serializers.COMPONENT_STATUSES",
        "TestRunStatusEnum": "evaluations.models.TestRunStatus",
        "TestCaseVerdictEnum": "evaluations.models.CaseVerdict",
        "CallModeEnum": "calls.models.CallMode",
    },
}

# --- Tokens -----------------------------------------------------------------------
JWT_SIGNING_KEY = env("JWT_SIGNING_KEY", default=SECRET_KEY)
ACCESS_TOKEN_LIFETIME_MINUTES = env.int("ACCESS_TOKEN_LIFETIME_MINUTES", default=15)
REFRESH_TOKEN_LIFETIME_DAYS = env.int("REFRESH_TOKEN_LIFETIME_DAYS", default=7)
EMAIL_VERIFICATION_LIFETIME_HOURS = 24
INVITATION_LIFETIME_DAYS = 7
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=ACCESS_TOKEN_LIFETIME_MINUTES),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

# --- Celery -----------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not (REDIS_URL or env("CELERY_BROKER_URL", default=""))
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
# A late-acknowledged task whose worker died (kill -9, OOM, a lost host) goes back to the
# queue once it has been unacknowledged this long; the Redis transport's default is an
# hour. It must stay above the longest task (CELERY_TASK_TIME_LIMIT) plus the longest
# retry countdown (mail: 300 s), or a task still waiting for its countdown on one worker
# is handed to another. Abandoned messages are looked for every 10 s.
CELERY_VISIBILITY_TIMEOUT_SECONDS = env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    # A publish to a broker that vanished without closing the connection fails instead of hanging.
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The outbox's publishes after commit (morpheus/outbox.py): by a background thread per
# process, so a request does not wait for the broker, unless Celery runs tasks eagerly. Rows
# that do not fit in its queue, or are still queued OUTBOX_DRAIN_SECONDS into an exit, are
# published by the outbox sweep (every 30 s).
OUTBOX_PUBLISH_IN_BACKGROUND = env.bool("OUTBOX_PUBLISH_IN_BACKGROUND", default=True)
OUTBOX_PUBLISH_QUEUE_SIZE = env.int("OUTBOX_PUBLISH_QUEUE_SIZE", default=1000)
OUTBOX_DRAIN_SECONDS = env.float("OUTBOX_DRAIN_SECONDS", default=5.0)
CELERY_TIMEZONE = "UTC"


def _periodic(task: str, *, every: float, expires: float) -> dict:
    """A beat entry: `task` every `every` seconds, each run expiring after `expires`
    seconds, before the next one is due (so missed runs do not pile up)."""
    return {"task": task, "schedule": float(every), "options": {"expires": expires}}


# Periodic jobs (docs/operations.md). Each run expires before the next one is due, so
# runs queued while no worker was up do not pile up and all fire at once on restart.
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": _periodic("morpheus.tasks.outbox_sweep", every=30, expires=25),
    "outbox-purge": _periodic("morpheus.tasks.outbox_purge", every=60 * 60, expires=55 * 60),
    "end-stale-calls": _periodic("calls.tasks.end_stale_calls", every=60, expires=55),
    "webhook-sweep": _periodic("integrations.tasks.webhook_sweep", every=60, expires=55),
    "purge-recordings": _periodic("calls.tasks.purge_recordings", every=60 * 60, expires=55 * 60),
    "purge-expired-tokens": _periodic("accounts.tasks.purge_expired_tokens", every=60 * 60, expires=55 * 60),
    # Capacity leases whose heartbeat stopped (a worker died) or whose call ended without
    # releasing them go back to the pool (calls/leases.py).
    "sweep-call-leases": _periodic("calls.tasks.sweep_call_leases", every=30, expires=25),
    # Outbound calls still queued (no capacity yet, or scheduled) whose dial no Celery retry
    # carries on (eager mode, a lost message) are dialed again (calls/outbound.py).
    "redial-queued-calls": _periodic("calls.tasks.redial_queued_calls", every=10, expires=9),
    # The campaign dialer (campaigns/dialer.py): claims due contacts and places their calls.
    "campaign-dialer-tick": _periodic("campaigns.tasks.dialer_tick", every=5, expires=4),
}

# --- Outbound calls and capacity (docs/outbound.md) ------------------------------------
# Simultaneous calls per customer, and how many of them only inbound calls may use; a
# platform admin overrides both per customer (Django admin, Call capacity).
CALL_CONCURRENCY_LIMIT = env.int("CALL_CONCURRENCY_LIMIT", default=10)
CALL_RESERVED_INBOUND_CONCURRENCY = env.int("CALL_RESERVED_INBOUND_CONCURRENCY", default=2)
# A lease lives this long without a heartbeat (the voice worker renews it every third of it).
CALL_LEASE_TTL_SECONDS = env.int("CALL_LEASE_TTL_SECONDS", default=90)
# How long LiveKit lets an outbound call ring before giving up (no answer).
OUTBOUND_RINGING_TIMEOUT_SECONDS = env.int("OUTBOUND_RINGING_TIMEOUT_SECONDS", default=30)
# An unanswered outbound call the voice worker closed as a plain "no answer" takes the SIP
# outcome (busy, failed, ...) LiveKit reports within this many seconds of the close.
OUTBOUND_SIP_OUTCOME_GRACE_SECONDS = env.int("OUTBOUND_SIP_OUTCOME_GRACE_SECONDS", default=30)
# A campaign pauses itself when at least this share of its last CAMPAIGN_BREAKER_WINDOW
# finished attempts failed (carrier or platform errors, not busy/no answer).
CAMPAIGN_BREAKER_THRESHOLD = env.float("CAMPAIGN_BREAKER_THRESHOLD", default=0.8)
CAMPAIGN_BREAKER_WINDOW = env.int("CAMPAIGN_BREAKER_WINDOW", default=20)

# --- Voice: LiveKit and model providers ------------------------------------------
LIVEKIT_URL = env("LIVEKIT_URL", default="")
LIVEKIT_API_KEY = env("LIVEKIT_API_KEY", default="")
LIVEKIT_API_SECRET = env("LIVEKIT_API_SECRET", default="")
LIVEKIT_SIP_URI = env("LIVEKIT_SIP_URI", default="")
LIVEKIT_TIMEOUT_SECONDS = env.float("LIVEKIT_TIMEOUT_SECONDS", default=5.0)
VOICE_AGENT_NAME = env("VOICE_AGENT_NAME", default="morpheus-voice-agent")
# How a warm transfer connects the person who accepted to the caller (docs/voice-worker.md):
# "move" = RoomService.MoveParticipant (LiveKit Cloud only), "bridge" = the worker carries the
# audio between the two rooms (any LiveKit server), "auto" = move, and the bridge from the
# first "not implemented" answer on (self-hosted livekit-server).
LIVEKIT_WARM_TRANSFER_CONNECT = env("LIVEKIT_WARM_TRANSFER_CONNECT", default="auto")
if LIVEKIT_WARM_TRANSFER_CONNECT not in ("auto", "move", "bridge"):
    raise ImproperlyConfigured(
        f"LIVEKIT_WARM_TRANSFER_CONNECT must be auto, move or bridge, not {LIVEKIT_WARM_TRANSFER_CONNECT!r}."
    )
# Agents' custom functions (voice_worker/functions.py): HTTPS POSTs with this timeout;
# private/loopback targets are refused unless explicitly allowed (SSRF guard).
VOICE_FUNCTION_TIMEOUT_SECONDS = env.float("VOICE_FUNCTION_TIMEOUT_SECONDS", default=8.0)
VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS = env.bool("VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS", default=False)

# --- Integrations: webhooks to customer systems (docs/integrations.md) ------------
# Each delivery attempt's total timeout; endpoints must be public HTTPS hosts unless
# private networks are allowed (local development and tests; plain HTTP also needs DEBUG
# or this flag).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False)

OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="")
DEEPGRAM_API_KEY = env("DEEPGRAM_API_KEY", default="")
ELEVENLABS_API_KEY = env("ELEVENLABS_API_KEY", default="")
# Blank: the vendors' own endpoints. Set to reach a regional endpoint or a proxy.
DEEPGRAM_BASE_URL = env("DEEPGRAM_BASE_URL", default="")
ELEVENLABS_BASE_URL = env("ELEVENLABS_BASE_URL", default="")
# How long the ElevenLabs voice list of a key is cached (GET /providers/elevenlabs/voices).
ELEVENLABS_VOICES_CACHE_SECONDS = env.int("ELEVENLABS_VOICES_CACHE_SECONDS", default=600)

# --- After the call (docs/after-the-call.md) ----------------------------------------
# Post-call analysis: the model when the agent's plan names none, the per-request
# timeout, and how many answers (transport errors or invalid JSON) before `failed`.
ANALYSIS_MODEL = env("ANALYSIS_MODEL", default="gpt-4o-mini")
ANALYSIS_TIMEOUT_SECONDS = env.float("ANALYSIS_TIMEOUT_SECONDS", default=30.0)
ANALYSIS_MAX_ATTEMPTS = env.int("ANALYSIS_MAX_ATTEMPTS", default=3)
# The platform's prices (calls/cost.py): a JSON object overriding any of the defaults.
PRICE_TABLE = env.json("PRICE_TABLE", default={})
# Recordings: LiveKit Egress writes audio-only room composites straight to this
# S3-compatible bucket (MinIO in docker-compose); the API hands out presigned URLs.
RECORDINGS_S3_BUCKET = env("RECORDINGS_S3_BUCKET", default="")
RECORDINGS_S3_ENDPOINT_URL = env("RECORDINGS_S3_ENDPOINT_URL", default="")
# The endpoint Egress uploads to, when it reaches the storage by another address than
# the API does (compose: Egress on the host network); empty means the same.
RECORDINGS_EGRESS_S3_ENDPOINT_URL = env("RECORDINGS_EGRESS_S3_ENDPOINT_URL", default="")
RECORDINGS_S3_REGION = env("RECORDINGS_S3_REGION", default="us-east-1")
RECORDINGS_S3_ACCESS_KEY = env("RECORDINGS_S3_ACCESS_KEY", default="")
RECORDINGS_S3_SECRET_KEY = env("RECORDINGS_S3_SECRET_KEY", default="")
RECORDINGS_FORMAT = env("RECORDINGS_FORMAT", default="ogg")
RECORDINGS_URL_TTL_SECONDS = env.int("RECORDINGS_URL_TTL_SECONDS", default=3600)
# Days a recording is kept when the organization sets no settings.recordingRetentionDays.
RECORDINGS_RETENTION_DAYS = env.int("RECORDINGS_RETENTION_DAYS", default=90)
# Agent test runs (docs/agent-testing.md): cases run at once per run, and how long the
# agent may take for one turn and a judge for one verdict before the case is an error.
EVALUATIONS_MAX_PARALLEL_CASES = env.int("EVALUATIONS_MAX_PARALLEL_CASES", default=4)
EVALUATIONS_TURN_TIMEOUT_SECONDS = env.float("EVALUATIONS_TURN_TIMEOUT_SECONDS", default=60.0)
EVALUATIONS_JUDGE_TIMEOUT_SECONDS = env.float("EVALUATIONS_JUDGE_TIMEOUT_SECONDS", default=30.0)

# The generic JSON form of the voice webhooks (no carrier signature) is accepted only from
# these CIDRs (client address as resolved with NUM_PROXIES) or with an X-Morpheus-Signature
# HMAC made with VOICE_WEBHOOK_SECRET. With neither, DEBUG accepts loopback only and
# production refuses the form (docs/calls.md, docs/deploy.md).
VOICE_WEBHOOK_ALLOWED_IPS = env.list("VOICE_WEBHOOK_ALLOWED_IPS", default=[])
VOICE_WEBHOOK_SECRET = env("VOICE_WEBHOOK_SECRET", default="")
VOICE_WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS = 300
# At most this many inbound calls of one customer may ring at once (bounds a leaked secret).
VOICE_INBOUND_MAX_RINGING = env.int("VOICE_INBOUND_MAX_RINGING", default=20)
# Without a CallSid, the same From/To within this window is the same ringing call.
VOICE_INBOUND_DEDUPE_SECONDS = 10

TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TELNYX_PUBLIC_KEY = env("TELNYX_PUBLIC_KEY", default="")
TELNYX_TIMESTAMP_TOLERANCE_SECONDS = 300

# --- Secrets at rest (morpheus/crypto.py) -------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotate by prepending a
# new key, run `manage.py rotate_encryption_keys`, then drop the old one). Unset derives
# one key from SECRET_KEY, which is fine for development and a single deployment.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- Security headers (production) -----------------------------------------------
if NUM_PROXIES > 0:
    # Only a proxy we run may tell us the original scheme; without one, any client could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "morpheus.api.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
