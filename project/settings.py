"""Settings for the gateway project, read from the environment.

Every value has an embedded default so that `make run` works on a fresh machine: SQLite, the
in-memory channel layer and the web adapter on :8000. Set the variables below to change that;
README.md lists them.
"""

from __future__ import annotations

import os
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


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off: set SECRET_KEY to a long random string "
            "(or DEBUG=1 for local development)"
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "gateway",
    "adapters",
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
]

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
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several adapters and threads write at once; wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layers, named as in Django Channels. No REDIS_URL: the in-memory layer, which only
# works inside one process (`runadapter all` runs every adapter in one process for that reason).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "gateway.layers.redis.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                # Heroku Redis presents a self-signed certificate on rediss:// URLs.
                "ssl_cert_reqs": os.environ.get("REDIS_SSL_CERT_REQS", "required"),
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
    "ax25": "adapters.ax25.adapter.Ax25Adapter",
}
GATEWAY_SHUTDOWN_TIMEOUT = float(os.environ.get("GATEWAY_SHUTDOWN_TIMEOUT", "25"))

# Web adapter.
PORT = int(os.environ.get("PORT", "8000"))
WEB_HOST = os.environ.get("WEB_HOST", "0.0.0.0")
WEBSOCKET_MAX_MESSAGE_SIZE = int(os.environ.get("WEBSOCKET_MAX_MESSAGE_SIZE", str(64 * 1024)))
# Compression costs CPU per message and zlib state per connection: off unless asked for.
WEBSOCKET_PER_MESSAGE_DEFLATE = env_bool("WEBSOCKET_PER_MESSAGE_DEFLATE", False)

# MQTT adapter: no MQTT_URL means not configured.
MQTT_URL = os.environ.get("MQTT_URL", "")
# The rest is optional (docs/mqtt.md); a query option in MQTT_URL wins over these.
MQTT_CLIENT_ID = os.environ.get("MQTT_CLIENT_ID") or None  # default: gateway-<host>-<slot>
MQTT_SUBSCRIPTIONS = env_list("MQTT_SUBSCRIPTIONS", [])  # on top of the TopicRouter's filters
MQTT_SHARED_GROUP = os.environ.get("MQTT_SHARED_GROUP") or None  # $share/GROUP/... when set
MQTT_IDLE_TIMEOUT = os.environ.get("MQTT_IDLE_TIMEOUT", "300")  # seconds; 0: never
MQTT_MAX_PAYLOAD = int(os.environ.get("MQTT_MAX_PAYLOAD", str(256 * 1024)))
MQTT_RECEIVE_MAXIMUM = int(os.environ.get("MQTT_RECEIVE_MAXIMUM", "1000"))
MQTT_SESSION_EXPIRY = int(os.environ.get("MQTT_SESSION_EXPIRY", "3600"))
MQTT_SUBSCRIBE_QOS = int(os.environ.get("MQTT_SUBSCRIBE_QOS", "1"))  # 2: receive QoS 2 as such
MQTT_STATE_DIR = os.environ.get("MQTT_STATE_DIR", "")  # client-id slot locks; default /tmp
MQTT_OFFLINE_PAYLOADS = env_list("MQTT_OFFLINE_PAYLOADS", ["offline"])  # status: device gone

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
AX25_STATE_DIR = os.environ.get("AX25_STATE_DIR", "")  # dedupe file; default the temp dir
AX25_IDLE_TIMEOUT = os.environ.get("AX25_IDLE_TIMEOUT", "600")  # seconds; 0: never

# AX.25 connected mode (docs/ax25-connected.md): link parameters, checked by the adapter at start.
AX25_PACLEN = os.environ.get("AX25_PACLEN", "128")  # bytes of data per I frame (N1), 1..256
AX25_WINDOW = os.environ.get("AX25_WINDOW", "4")  # I frames outstanding (k), 1..7
AX25_T1 = os.environ.get("AX25_T1", "3")  # seconds: first acknowledgement timeout (FRACK)
AX25_T2 = os.environ.get("AX25_T2", "2")  # seconds: longest delay of an RR within a burst
AX25_T3 = os.environ.get("AX25_T3", "300")  # seconds: idle link check
AX25_N2 = os.environ.get("AX25_N2", "10")  # retries before the link fails
AX25_RX_BACKLOG = os.environ.get("AX25_RX_BACKLOG", "8")  # consumer backlog (events) -> RNR

# Celery: the broker is Redis when there is one.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not (REDIS_URL or False))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
        "uvicorn.access": {"level": "WARNING"},
        # uvicorn logs every WebSocket connect at INFO; the web adapter logs what matters.
        "uvicorn.error": {"level": os.environ.get("UVICORN_LOG_LEVEL", "WARNING")},
    },
}
