"""Settings for the gateway project, read from the environment.

Every value has an embedded default so that `make run` works on a fresh machine: SQLite, the
in-memory channel layer and the web adapter on :8000. Set the variables below to change that;
README.md lists them.
"""

from __future__ import annotations

import os
import re
import ssl
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated environment variable."""
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    """Read a whole-number environment variable; a bad value stops the start with its name."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off: set SECRET_KEY to a long random string "
            "(or DEBUG=1 for local development)"
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"

# The app's own host name on Heroku, from dyno metadata (`heroku labs:enable
# runtime-dyno-metadata`): "my-app-1a2b3c4d5e6f.herokuapp.com". It cannot be derived from the
# app name (new apps get a random suffix), and ".herokuapp.com" would accept every other Heroku
# app as Host and as WebSocket Origin, so that one host is trusted and nothing wider.
HEROKU_APP_DEFAULT_DOMAIN_NAME = os.environ.get("HEROKU_APP_DEFAULT_DOMAIN_NAME", "").strip()
OWN_HOSTS = [HEROKU_APP_DEFAULT_DOMAIN_NAME.lower()] if HEROKU_APP_DEFAULT_DOMAIN_NAME else []
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
ALLOWED_HOSTS += [host for host in OWN_HOSTS if host not in ALLOWED_HOSTS]
if ".herokuapp.com" in ALLOWED_HOSTS or "herokuapp.com" in ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS=.herokuapp.com trusts every Heroku app's host and WebSocket Origin: set "
        "your app's own host name instead, or run `heroku labs:enable runtime-dyno-metadata` "
        "and leave ALLOWED_HOSTS unset (docs/deploy.md)"
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_TRUSTED_ORIGINS += [
    f"https://{host}" for host in OWN_HOSTS if f"https://{host}" not in CSRF_TRUSTED_ORIGINS
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Throttles the admin login (failed attempts per client address, in the database).
    "axes",
    "gateway",
    "adapters",
    "adapters.telegram",
    "consumers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

# The admin login is throttled by django-axes: after ADMIN_LOGIN_FAILURE_LIMIT failed attempts
# from one client address (the proxy-resolved address, see FORWARDED_ALLOW_IPS), that address
# gets 429 for ADMIN_LOGIN_COOLOFF_MINUTES; a successful login clears its failures.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_COOLOFF_MESSAGE = (
    "Too many failed login attempts from your address: wait a while before you try again."
)

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],
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

ASGI_APPLICATION = os.environ.get("ASGI_APPLICATION", "project.asgi.application")

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 0),
        # Test a reused connection (persistent or from the pool) before handing it out: a
        # Postgres restart or an idle timeout then costs a reconnect, not an error.
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several adapters and threads write at once; wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # A transaction that reads first and writes later cannot wait for the lock (SQLite
    # answers "database is locked" at once to avoid a deadlock): take it when it begins.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # Write-ahead log: readers do not block the writer, and a commit appends instead of
    # rewriting a rollback journal (still durable: synchronous stays FULL).
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL;"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_POOL", True
):
    # Under ASGI each HTTP request runs its sync code in a thread of its own, so Django's
    # persistent connections (CONN_MAX_AGE > 0) would leak one per thread; Django's docs say to
    # pool instead. At most MAX_SIZE per process: Heroku's smallest Postgres plan allows 20
    # connections for all dynos together.
    if DATABASES["default"]["CONN_MAX_AGE"] != 0:
        raise ImproperlyConfigured(
            "CONN_MAX_AGE and DATABASE_POOL exclude each other: unset CONN_MAX_AGE (the pool "
            "keeps connections open) or set DATABASE_POOL=0"
        )
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 4),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layers, named as in Django Channels. No REDIS_URL: the in-memory layer, which only
# works inside one process (`runadapter all` runs every adapter in one process for that reason).
REDIS_URL = os.environ.get("REDIS_URL", "")
# Heroku Redis presents a self-signed certificate on rediss:// URLs: "none" accepts it.
REDIS_SSL_CERT_REQS = os.environ.get("REDIS_SSL_CERT_REQS", "required").strip().lower()
if REDIS_SSL_CERT_REQS not in {"none", "optional", "required"}:
    raise ImproperlyConfigured(
        f"REDIS_SSL_CERT_REQS={REDIS_SSL_CERT_REQS!r}: use none, optional or required"
    )
# Put before every key the channel layer and Celery write: deployments (or test runs) sharing
# one Redis keep apart.
REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "gateway.layers.redis.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "ssl_cert_reqs": REDIS_SSL_CERT_REQS,
                "prefix": f"{REDIS_KEY_PREFIX}asgi",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "gateway.layers.InMemoryChannelLayer"}}

# Adapters that `manage.py runadapter` knows, by name. Each one decides from the settings
# below whether it is configured.
GATEWAY_ADAPTERS = {
    "web": "adapters.web.WebAdapter",
    "mqtt": "adapters.mqtt.MqttAdapter",
    "telegram": "adapters.telegram.adapter.TelegramAdapter",
    "ax25": "adapters.ax25.adapter.Ax25Adapter",
}
GATEWAY_SHUTDOWN_TIMEOUT = float(os.environ.get("GATEWAY_SHUTDOWN_TIMEOUT", "25"))

# Web adapter.
PORT = int(os.environ.get("PORT", "8000"))
WEB_HOST = os.environ.get("WEB_HOST", "0.0.0.0")
WEBSOCKET_MAX_MESSAGE_SIZE = int(os.environ.get("WEBSOCKET_MAX_MESSAGE_SIZE", str(64 * 1024)))
# Compression costs CPU per message and zlib state per connection: off unless asked for.
WEBSOCKET_PER_MESSAGE_DEFLATE = env_bool("WEBSOCKET_PER_MESSAGE_DEFLATE", False)
# What a client may send before its request runs (adapters/web/limits.py): over a limit the
# request gets 414/431 and is closed; headers not complete in time get 408.
WEB_MAX_HEADER_LINE = int(os.environ.get("WEB_MAX_HEADER_LINE", "8192"))  # bytes per line
WEB_MAX_HEADERS = int(os.environ.get("WEB_MAX_HEADERS", "100"))
WEB_MAX_HEADER_BYTES = int(os.environ.get("WEB_MAX_HEADER_BYTES", str(64 * 1024)))
WEB_HEADER_TIMEOUT = float(os.environ.get("WEB_HEADER_TIMEOUT", "30"))  # seconds; 0: none
WEB_MAX_CONNECTIONS = int(os.environ.get("WEB_MAX_CONNECTIONS", "10000"))  # per process; 0: none
# Chat flood control per WebSocket (gateway/flood.py): COUNT/SECONDS windows, empty: no limit;
# frames dropped after the polite warning before the connection is closed with 1008.
CHAT_RATE_LIMIT = os.environ.get("CHAT_RATE_LIMIT", "5/2,40/60")
CHAT_FLOOD_STRIKES = int(os.environ.get("CHAT_FLOOD_STRIKES", "10"))

# MQTT adapter: no MQTT_URL means not configured.
MQTT_URL = os.environ.get("MQTT_URL", "")
# The rest is optional (docs/mqtt.md); a query option in MQTT_URL wins over these.
# Heroku names each dyno ("mqtt.1") and keeps the name across restarts while the hostname
# changes: the id derived from it ("gateway-mqtt-1", letters, digits and dashes, which every
# broker accepts) finds the broker's persistent session again.
DYNO = os.environ.get("DYNO", "")
MQTT_CLIENT_ID = os.environ.get("MQTT_CLIENT_ID") or (
    "gateway-" + re.sub(r"[^0-9A-Za-z]", "-", DYNO) if DYNO else None
)  # None: gateway-<host>-<slot> (adapters/mqtt/identity.py)
MQTT_SUBSCRIPTIONS = env_list("MQTT_SUBSCRIPTIONS", [])  # on top of the TopicRouter's filters
MQTT_SHARED_GROUP = os.environ.get("MQTT_SHARED_GROUP") or None  # $share/GROUP/... when set
MQTT_IDLE_TIMEOUT = os.environ.get("MQTT_IDLE_TIMEOUT", "60")  # seconds; 0: never
# Device scopes open at once; over it the least recently active idle one closes. 0: no bound.
MQTT_MAX_DEVICE_SCOPES = os.environ.get("MQTT_MAX_DEVICE_SCOPES", "10000")
MQTT_MAX_PAYLOAD = int(os.environ.get("MQTT_MAX_PAYLOAD", str(256 * 1024)))
MQTT_RECEIVE_MAXIMUM = int(os.environ.get("MQTT_RECEIVE_MAXIMUM", "1000"))
MQTT_SESSION_EXPIRY = int(os.environ.get("MQTT_SESSION_EXPIRY", "3600"))
MQTT_SUBSCRIBE_QOS = int(os.environ.get("MQTT_SUBSCRIBE_QOS", "1"))  # 2: receive QoS 2 as such
MQTT_STATE_DIR = os.environ.get("MQTT_STATE_DIR", "")  # client-id slot locks; default /tmp
MQTT_OFFLINE_PAYLOADS = env_list("MQTT_OFFLINE_PAYLOADS", ["offline"])  # status: device gone

# Telegram adapter: no TELEGRAM_BOT_TOKEN means not configured (docs/telegram.md).
TELEGRAM_BOT_TOKEN = os.environ.get("TELEGRAM_BOT_TOKEN", "")
TELEGRAM_MODE = os.environ.get("TELEGRAM_MODE", "polling")  # or "webhook"
TELEGRAM_API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")  # no /bot
TELEGRAM_WEBHOOK_URL = os.environ.get("TELEGRAM_WEBHOOK_URL", "")  # public https URL (webhook)
TELEGRAM_WEBHOOK_SECRET = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "")  # X-Telegram-...-Token
TELEGRAM_WEBHOOK_MAX_BODY = os.environ.get("TELEGRAM_WEBHOOK_MAX_BODY", str(1024 * 1024))
# Flood limits (0: off) and the fraction of each kept free as a safety margin.
TELEGRAM_RATE_OVERALL = os.environ.get("TELEGRAM_RATE_OVERALL", "30")  # messages per second
TELEGRAM_RATE_PER_CHAT = os.environ.get("TELEGRAM_RATE_PER_CHAT", "1")  # per second, each chat
TELEGRAM_RATE_PER_GROUP = os.environ.get("TELEGRAM_RATE_PER_GROUP", "20")  # per minute, groups
TELEGRAM_RATE_MARGIN = os.environ.get("TELEGRAM_RATE_MARGIN", "0.1")
TELEGRAM_POLL_TIMEOUT = os.environ.get("TELEGRAM_POLL_TIMEOUT", "30")  # getUpdates long poll
TELEGRAM_MAX_ATTEMPTS = os.environ.get("TELEGRAM_MAX_ATTEMPTS", "3")  # handler errors per update
TELEGRAM_IDLE_TIMEOUT = os.environ.get("TELEGRAM_IDLE_TIMEOUT", "600")  # seconds; 0: never
TELEGRAM_LEASE_SECONDS = os.environ.get("TELEGRAM_LEASE_SECONDS", "15")  # one handler process
# AX.25 adapter (docs/ax25.md): no AX25_TNC means not configured.
AX25_TNC = os.environ.get("AX25_TNC", "")  # tcp://HOST:PORT or serial:///dev/ttyUSB0?baud=9600
AX25_CALLSIGN = os.environ.get("AX25_CALLSIGN", "")  # our station(s), comma-separated: BOT-1,BOT-2
AX25_KISS_PORT = os.environ.get("AX25_KISS_PORT", "0")  # the TNC's radio port (0-15)
# KISS channel-access parameters sent on every connect; empty: leave the TNC's own.
AX25_KISS_TXDELAY = os.environ.get("AX25_KISS_TXDELAY", "")  # 10 ms units
AX25_KISS_PERSIST = os.environ.get("AX25_KISS_PERSIST", "")  # 0-255
AX25_KISS_SLOTTIME = os.environ.get("AX25_KISS_SLOTTIME", "")  # 10 ms units
AX25_KISS_TXTAIL = os.environ.get("AX25_KISS_TXTAIL", "")  # 10 ms units
AX25_KISS_FULLDUP = os.environ.get("AX25_KISS_FULLDUP", "")  # 0 or 1
AX25_BYTES_PER_SECOND = os.environ.get("AX25_BYTES_PER_SECOND", "120")  # 1200 baud ~ 120 B/s
AX25_PACING_WINDOW = os.environ.get("AX25_PACING_WINDOW", "10")  # seconds the budget spans
AX25_APRS_TOCALL = os.environ.get("AX25_APRS_TOCALL", "APZGWY")  # destination of our APRS
AX25_APRS_PATH = os.environ.get("AX25_APRS_PATH", "WIDE1-1,WIDE2-1")  # digipeaters for APRS
AX25_APRS_RETRY_SECONDS = os.environ.get("AX25_APRS_RETRY_SECONDS", "30")  # first re-send, x2
AX25_APRS_MAX_TRIES = os.environ.get("AX25_APRS_MAX_TRIES", "5")  # transmissions per message
AX25_DEDUPE_SECONDS = os.environ.get("AX25_DEDUPE_SECONDS", "3600")  # repeats recognised
AX25_STATE_DIR = os.environ.get("AX25_STATE_DIR", "")  # dedupe + msgno files; default /tmp
AX25_IDLE_TIMEOUT = os.environ.get("AX25_IDLE_TIMEOUT", "600")  # seconds; 0: never

# AX.25 connected mode (docs/ax25-connected.md): link parameters, checked by the adapter at start.
AX25_PACLEN = os.environ.get("AX25_PACLEN", "128")  # bytes of data per I frame (N1), 1..256
AX25_WINDOW = os.environ.get("AX25_WINDOW", "4")  # I frames outstanding (k), 1..7
AX25_T1 = os.environ.get("AX25_T1", "3")  # seconds: first acknowledgement timeout (FRACK)
AX25_T2 = os.environ.get("AX25_T2", "2")  # seconds: longest delay of an RR within a burst
AX25_T3 = os.environ.get("AX25_T3", "300")  # seconds: idle link check
AX25_N2 = os.environ.get("AX25_N2", "10")  # retries before the link fails
AX25_RX_BACKLOG = os.environ.get("AX25_RX_BACKLOG", "8")  # consumer backlog (events) -> RNR

# Celery (project/celery.py): the broker is Redis when there is one.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not (REDIS_URL or False))
# A basic dyno has 512 MB: two prefork children leave room; raise it on bigger dynos.
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 2)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Heroku sends SIGTERM then SIGKILL 30 s later: a task in progress then is redelivered.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": REDIS_KEY_PREFIX} if REDIS_KEY_PREFIX else {}
# Celery refuses a rediss:// URL without a certificate policy: the same one as the layer's.
_CELERY_TLS = {"ssl_cert_reqs": getattr(ssl, f"CERT_{REDIS_SSL_CERT_REQS.upper()}")}
_TLS_URL = "rediss://"
CELERY_BROKER_USE_SSL = _CELERY_TLS if CELERY_BROKER_URL.startswith(_TLS_URL) else False
CELERY_REDIS_BACKEND_USE_SSL = _CELERY_TLS if CELERY_RESULT_BACKEND.startswith(_TLS_URL) else None

# The bot (docs/bot.md): flood control, offline detection and pruning (Celery beat runs both
# periodic tasks in the worker: `celery -A project worker --beat`).
BOT_FLOOD_LIMIT = env_int("BOT_FLOOD_LIMIT", 5)  # lines per identity ...
BOT_FLOOD_SECONDS = env_int("BOT_FLOOD_SECONDS", 10)  # ... in any window of this many seconds
BOT_OFFLINE_SECONDS = env_int("BOT_OFFLINE_SECONDS", 300)  # silent this long: device offline
BOT_HISTORY_DAYS = env_int("BOT_HISTORY_DAYS", 90)  # room messages and telemetry kept
BOT_PRESENCE_HOURS = env_int("BOT_PRESENCE_HOURS", 24)  # presences a crash left behind
# The watch worker's channel (consumers/watch_worker.py, `manage.py runworker bot-watch`, needs
# Redis). Empty: watches are checked inline by the device consumer.
BOT_WATCH_CHANNEL = os.environ.get("BOT_WATCH_CHANNEL", "")
CELERY_BEAT_SCHEDULE = {
    "bot-detect-offline": {"task": "bot.detect_offline", "schedule": 60.0},
    "bot-prune": {"task": "bot.prune", "schedule": 3600.0},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# Production defaults when DEBUG is off (`manage.py check --deploy --fail-level WARNING` is
# clean with them), each overridable by its variable. They assume HTTPS ends at a proxy that
# sets X-Forwarded-Proto, as Heroku's router does (docs/deploy.md for other hosts).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# A load balancer's or container's health check speaks plain HTTP to the process itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)

# /metrics: with METRICS_TOKEN set, only for `Authorization: Bearer <token>` (Prometheus'
# `authorization` scrape option); without it, open when DEBUG is on and off (404) when not.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "filters": {"client_error": {"()": "project.log_filters.ClientErrorWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
        # A foreign Host header is the client's doing: one WARNING line, not an ERROR traceback.
        "django.security.DisallowedHost": {"filters": ["client_error"]},
        "uvicorn.access": {"level": "WARNING"},
        # httpx (python-telegram-bot's client) logs every request at INFO.
        "httpx": {"level": "WARNING"},
        # uvicorn logs every WebSocket connect at INFO; the web adapter logs what matters.
        "uvicorn.error": {"level": os.environ.get("UVICORN_LOG_LEVEL", "WARNING")},
    },
}
