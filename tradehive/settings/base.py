"""Settings shared by every environment, read from the environment.

| variable        | default                                   |
|-----------------|-------------------------------------------|
| DATABASE_URL    | the embedded PostgreSQL in ``var/pgdata`` (started when unset) |
| REDIS_URL       | ``redis://127.0.0.1:6379/0``; ``make run``/``make test`` start a bundled |
|                 | Redis when unset                          |
| ENGINE_REDIS_URL, CACHE_REDIS_URL, CHANNELS_REDIS_URLS, CELERY_BROKER_URL | REDIS_URL (see |
|                 | "Past one machine" below and docs/scaling.md) |
| SECRET_KEY      | generated once into ``var/secret_key`` |
| DEBUG           | ``0`` |
| ALLOWED_HOSTS   | ``127.0.0.1,localhost`` (comma separated) |
| PORT            | ``8000`` (used by the launcher and for links) |
| TRUSTED_PROXIES | none (comma separated IPs/CIDRs whose X-Forwarded-For is believed) |
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

from tradehive.embedded_postgres import DATABASE_NAME as EMBEDDED_DATABASE_NAME
from tradehive.embedded_postgres import data_dir as embedded_data_dir
from tradehive.embedded_postgres import socket_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("TRADEHIVE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# The demo admin's password (``seed_demo``): read from this file, or generated once into it.
DEMO_ADMIN_PASSWORD_FILE = Path(
    os.environ.get("DEMO_ADMIN_PASSWORD_FILE", VAR_DIR / "demo_admin_password")
)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """The SECRET_KEY from the environment, else one generated once and kept in var/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
PORT = int(os.environ.get("PORT", "8000"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "channels",
    "accounts",
    "notifications",
    "wallets",
    "markets",
    "orders",
    "settlement",
    "realtime",
    "rankings",
    "copytrading",
    "feeds",
    "binance_compat",
    "portfolio",
]

MIDDLEWARE = [
    # Outermost: every answer is timed and carries its request id, refusals included.
    "tradehive.metrics.RequestMetricsMiddleware",
    "tradehive.log_format.RequestIdMiddleware",
    # Then: an oversized body is refused before anything reads it, and a NUL in the path,
    # query, cookies or headers never reaches sessions or views.
    "tradehive.body_limit.BodyLimitMiddleware",
    "tradehive.middleware.NulRefusalMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "tradehive.security_headers.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.request_limits.RequestLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tradehive.urls"
WSGI_APPLICATION = "tradehive.wsgi.application"
ASGI_APPLICATION = "tradehive.asgi.application"

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

# --- Database -------------------------------------------------------------------------------
# PostgreSQL everywhere. Without DATABASE_URL, manage.py, the launcher and the test plugin start
# the embedded cluster in var/pgdata and export its URL (tradehive/embedded_postgres.py); this
# default is that cluster's socket, for tools that import the settings without starting it.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or socket_url(embedded_data_dir(), EMBEDDED_DATABASE_NAME)
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Under ASGI every request may run on another thread, so persistent per-thread connections
# (CONN_MAX_AGE) pile up; a bounded psycopg pool per process is what Django 5.1+ offers.
DATABASES["default"]["CONN_MAX_AGE"] = 0
# With the pool, health checks mean the pool checks a connection before lending it: after
# PostgreSQL restarts every idle connection is dead, and without the check each would fail one
# request with a 500 (bench/chaos.py's postgres fault). The engine is Django's PostgreSQL
# backend whose check asks the connection's socket before the server (tradehive/postgresql).
DATABASES["default"]["ENGINE"] = "tradehive.postgresql"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": int(os.environ.get("DB_POOL_MIN", "1")),
    "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
    # How long a request waits for a connection (all lent, or the server unreachable) before
    # it fails.
    "timeout": float(os.environ.get("DB_POOL_TIMEOUT_S", "10")),
}

# --- PostgreSQL read replica (docs/scaling.md "PostgreSQL: primary and read replica") ---------
# DATABASE_REPLICA_URL names a streaming standby of DATABASE_URL's server. Unset: no replica,
# every read uses the primary. Set: the `replica` alias, read by the reads marked with
# tradehive.db_router.reads_replica (public market data, rankings) while the replica answers
# and lags at most DATABASE_REPLICA_MAX_LAG_S; everything else uses `default`.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
# A marked read goes to the primary when the replica's replay lag exceeds this (seconds).
DATABASE_REPLICA_MAX_LAG_S = float(os.environ.get("DATABASE_REPLICA_MAX_LAG_S", "1"))
# After a write, the same request/task reads the primary for this long (read-your-writes): the
# lag bound plus the router's one-second lag sampling.
DATABASE_REPLICA_PIN_S = DATABASE_REPLICA_MAX_LAG_S + 1.0
# A replica found unreachable is tried again after this long; marked reads use the primary.
DATABASE_REPLICA_RETRY_S = float(os.environ.get("DATABASE_REPLICA_RETRY_S", "5"))
DATABASE_ROUTERS = ["tradehive.db_router.PrimaryReplicaRouter"]
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL)
    DATABASES["replica"]["CONN_MAX_AGE"] = 0
    DATABASES["replica"]["ENGINE"] = "tradehive.postgresql"
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # A dead replica costs a marked read at most about this long before it falls back.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES["replica"]["OPTIONS"]["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "1")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
        "timeout": 2,
    }
    # Tests never create a database for it: it reads the test database of `default`.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# --- end PostgreSQL read replica ----------------------------------------------------------------

# --- Redis: cache, Celery, Channels, engine -----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"

# --- Past one machine (docs/scaling.md): each stateful piece on its own servers -----------------
# Every URL defaults to REDIS_URL, so one box needs none of them.
# ENGINE_REDIS_URL: the engine's books and Lua, price windows, tickers, locks, rate-limit
# counters (tradehive.redis_client). ``redis+cluster://host:port[,host:port...]`` means a Redis
# Cluster (redis-py's RedisCluster; each engine call touches one market's hash tag, one slot).
ENGINE_REDIS_URL = os.environ.get("ENGINE_REDIS_URL") or REDIS_URL
# CACHE_REDIS_URL: Django's cache (one plain Redis: Django's backend does not speak Cluster).
CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL") or REDIS_URL
# CHANNELS_REDIS_URLS: the Channels layer's Redis hosts, comma separated; channels-redis hashes
# each group and channel onto one of them (client-side sharding, plain Redis servers).
CHANNELS_REDIS_URLS = [
    url.strip()
    for url in (os.environ.get("CHANNELS_REDIS_URLS") or REDIS_URL).split(",")
    if url.strip()
]
# CELERY_BROKER_URL: e.g. ``amqp://user:password@rabbitmq:5672/vhost`` (Celery's Redis broker
# does not support Redis Cluster). Results are ignored (CELERY_TASK_IGNORE_RESULT); their
# backend stays on REDIS_URL unless CELERY_RESULT_BACKEND says otherwise.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or REDIS_URL
# --- end of past one machine ---------------------------------------------------------------------

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "KEY_PREFIX": "cache",
    }
}

CHANNEL_LAYERS = {
    "default": {
        # channels_redis's RedisChannelLayer with fewer round trips per push (same keys/format).
        "BACKEND": "tradehive.channel_layer.PushChannelLayer",
        "CONFIG": {"hosts": CHANNELS_REDIS_URLS, "prefix": "ws", "capacity": 1000, "expiry": 30},
    }
}

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat wakes this often at most; sub-second schedules need a small loop interval (DESIGN.md).
CELERY_BEAT_MAX_LOOP_INTERVAL = 0.05
# The ledger's invariants are checked on this schedule by Celery (wallets/tasks.py); the result
# is a metric (tradehive_ledger_check_ok) and an ERROR log line when it fails.
LEDGER_CHECK_INTERVAL_S = float(os.environ.get("LEDGER_CHECK_INTERVAL_S", "3600"))
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "wallets-ledger-check": {
        "task": "wallets.tasks.ledger_check",
        "schedule": LEDGER_CHECK_INTERVAL_S,
        "options": {"expires": 600},
    },
    # Re-submit committed orders the engine has not acknowledged (crash between commit/submit).
    "orders-relay-outbox": {
        "task": "orders.tasks.relay_outbox",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
}

# --- Price feeds (docs/feeds.md) ---------------------------------------------------------------
# Market orders of feed-priced markets need an observation at most this old (else stale_price).
FEED_STALE_AFTER_S = float(os.environ.get("FEED_STALE_AFTER_S", "10"))
FEED_POLL_INTERVAL_S = 0.25
FEED_MATCH_INTERVAL_S = 0.5
# A price window prices:{SYMBOL} keeps about this many observations, none older than this.
FEED_WINDOW_MAXLEN = 1000
FEED_WINDOW_MAX_AGE_S = 300
FEED_SIM = {
    "seed": int(os.environ.get("FEED_SIM_SEED", "20240901")),
    "drift": 0.0,  # annualised
    "volatility": float(os.environ.get("FEED_SIM_VOLATILITY", "1.5")),  # annualised
    "markets": {
        "BTC-KRW": {"start": "95000000"},
        "ETH-KRW": {"start": "4500000"},
        "XRP-KRW": {"start": "3000"},
    },
    "default_start_ticks": 10000,  # markets not listed start at 10,000 ticks
}
FEED_SOURCES = {
    "upbit": {"url": os.environ.get("FEED_UPBIT_URL", "https://api.upbit.com")},
    "bithumb": {"url": os.environ.get("FEED_BITHUMB_URL", "https://api.bithumb.com")},
    "binance": {"url": os.environ.get("FEED_BINANCE_URL", "https://api.binance.com")},
}
# Queues by latency class, each with its own worker process (tradehive/launcher.py): polls
# (0.25 s) on `feeds`, matching passes (0.5 s) alone on `feeds-match` so neither waits for the
# other's GIL, and the bulk roll-ups (candles, tickers) on the default queue.
CELERY_TASK_ROUTES = {
    "feeds.tasks.poll_source": {"queue": "feeds"},
    "feeds.tasks.match_markets": {"queue": "feeds-match"},
    "feeds.tasks.roll_candles": {"queue": "celery"},
    "feeds.tasks.refresh_tickers": {"queue": "celery"},
}
# Sub-second schedules on a fixed time grid (a plain float drifts by beat's send latency:
# feeds/schedules.py); expires drops a message that waited a whole interval, so a backlog never
# runs late in a burst.
from feeds.schedules import GridSchedule  # noqa: E402 - celery + math only, no Django models

CELERY_BEAT_SCHEDULE.update(
    {
        f"feeds-poll-{source}": {
            "task": "feeds.tasks.poll_source",
            "schedule": GridSchedule(FEED_POLL_INTERVAL_S),
            "args": (source,),
            "options": {"expires": FEED_POLL_INTERVAL_S},
        }
        for source in ("sim", *FEED_SOURCES)
    }
)
CELERY_BEAT_SCHEDULE["feeds-match"] = {
    "task": "feeds.tasks.match_markets",
    "schedule": GridSchedule(FEED_MATCH_INTERVAL_S),
    "options": {"expires": FEED_MATCH_INTERVAL_S},
}
# Feed-priced markets' candles roll from the price windows, their cached tickers follow the feed.
FEED_CANDLE_INTERVAL_S = 2.0
FEED_TICKER_INTERVAL_S = 1.0
CELERY_BEAT_SCHEDULE["feeds-candles"] = {
    "task": "feeds.tasks.roll_candles",
    "schedule": GridSchedule(FEED_CANDLE_INTERVAL_S),
    "options": {"expires": FEED_CANDLE_INTERVAL_S},
}
CELERY_BEAT_SCHEDULE["feeds-tickers"] = {
    "task": "feeds.tasks.refresh_tickers",
    "schedule": GridSchedule(FEED_TICKER_INTERVAL_S),
    "options": {"expires": FEED_TICKER_INTERVAL_S},
}
# --- end price feeds ------------------------------------------------------------------------

# --- Rankings (docs/rankings.md) -----------------------------------------------------------------
# Equity is marked in this asset; PnL is in it.
RANKINGS_REFERENCE_ASSET = os.environ.get("RANKINGS_REFERENCE_ASSET", "KRW")
# Eligible for a period's ranking: at least this equity now (reference asset) and this many
# trades in the period.
RANKINGS_MIN_EQUITY = os.environ.get("RANKINGS_MIN_EQUITY", "10000")
RANKINGS_MIN_TRADES = int(os.environ.get("RANKINGS_MIN_TRADES", "1"))
# A public profile shows fills at least this old (nobody front-runs a shown trader).
RANKINGS_FILLS_DELAY_S = int(os.environ.get("RANKINGS_FILLS_DELAY_S", str(15 * 60)))
RANKINGS_REFRESH_INTERVAL_S = 30.0
CELERY_BEAT_SCHEDULE["rankings-refresh"] = {
    "task": "rankings.tasks.refresh_rankings",
    "schedule": RANKINGS_REFRESH_INTERVAL_S,
    "options": {"expires": RANKINGS_REFRESH_INTERVAL_S},
}
CELERY_TASK_ROUTES["rankings.tasks.refresh_rankings"] = {"queue": "celery"}

# --- Copy trading (docs/copytrading.md) ----------------------------------------------------------
# Allocations are made in this asset; copies follow the leader's markets quoted in it.
COPY_ASSET = os.environ.get("COPY_ASSET", RANKINGS_REFERENCE_ASSET)
# A copy's IOC limit is the leader's price moved this fraction against the follower (a market's
# own value is set in admin: MarketCopySetting).
COPY_SLIPPAGE = os.environ.get("COPY_SLIPPAGE", "0.005")
COPY_MAX_FOLLOWERS = int(os.environ.get("COPY_MAX_FOLLOWERS", "10000"))
# One leader fill is mirrored in parts of about this many followers, each its own Celery task
# and transaction, so one part's database work overlaps another's Python (copytrading.mirror).
COPY_MIRROR_CHUNK = int(os.environ.get("COPY_MIRROR_CHUNK", "250"))
COPY_PROFIT_SHARE_EVERY_S = float(os.environ.get("COPY_PROFIT_SHARE_EVERY_S", str(7 * 86400)))
CELERY_BEAT_SCHEDULE["copy-replay"] = {
    "task": "copytrading.tasks.replay_intents",
    "schedule": 2.0,
    "options": {"expires": 2.0},
}
CELERY_BEAT_SCHEDULE["copy-watch"] = {
    "task": "copytrading.tasks.watch_subscriptions",
    "schedule": 2.0,
    "options": {"expires": 2.0},
}
CELERY_BEAT_SCHEDULE["copy-profit-share"] = {
    "task": "copytrading.tasks.settle_profit_share",
    "schedule": COPY_PROFIT_SHARE_EVERY_S,
    "options": {"expires": 3600},
}
CELERY_TASK_ROUTES["copytrading.tasks.*"] = {"queue": "celery"}

# Market buys by quantity run as IOC limits at the reference price raised by this fraction.
ORDER_MARKET_PROTECTION = os.environ.get("ORDER_MARKET_PROTECTION", "0.05")

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Sessions expire after this much inactivity (each request renews the cookie).
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

OTP_TOTP_ISSUER = "TradeHive"

# Brute-force protection for logins: failures per window before 429.
LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5"))
LOGIN_FAILURES_PER_IP = int(os.environ.get("LOGIN_FAILURES_PER_IP", "20"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
# One-time codes (sign-in, MFA confirm/disable, withdrawals, closing the account): refused codes
# per user per window before every code, even the right one, gets 429 (accounts.ratelimit).
OTP_FAILURES_PER_USER = int(os.environ.get("OTP_FAILURES_PER_USER", "5"))
OTP_FAILURE_WINDOW_SECONDS = int(os.environ.get("OTP_FAILURE_WINDOW_SECONDS", "900"))

# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks); none by
# default, so the TCP peer is the client. tradehive.client_ip reads it.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # ApiKeyScope: a request signed with an API key needs the key's permission for the view.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.ApiKeyScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tradehive.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "tradehive.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "tradehive.openapi.AutoSchema",  # standard errors, pagination
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Tokens carry a hash of the password hash: a password change ends every access token.
    "CHECK_REVOKE_TOKEN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TradeHive API",
    "DESCRIPTION": "Spot exchange HTTP API. See docs/api.md for conventions and error codes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's JS/CSS come from the sidecar package, so /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Limits (docs/security.md "Limits") -----------------------------------------------------------
# Request bodies: the ASGI app answers 413 past this many bytes before reading further
# (tradehive/body_limit.py); Django's own limits agree, so nothing spools more than this.
REQUEST_BODY_MAX_BYTES = int(os.environ.get("REQUEST_BODY_MAX_BYTES", str(256 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 500  # the largest form (admin bulk actions) sends ~110
DATA_UPLOAD_MAX_NUMBER_FILES = 1  # no feature takes uploads
# API request budgets in Redis, fixed windows (accounts/request_limits.py has each endpoint's
# weight): per client address and per user a minute, and order placements per user in 10 s.
RATE_LIMIT_IP_WEIGHT_PER_MINUTE = int(os.environ.get("RATE_LIMIT_IP_WEIGHT_PER_MINUTE", "6000"))
RATE_LIMIT_USER_WEIGHT_PER_MINUTE = int(os.environ.get("RATE_LIMIT_USER_WEIGHT_PER_MINUTE", "2400"))
RATE_LIMIT_USER_ORDERS_PER_10S = int(os.environ.get("RATE_LIMIT_USER_ORDERS_PER_10S", "50"))
# API keys (accounts/api_keys.py). Secrets are Fernet-encrypted under these keys (comma-separated
# urlsafe-base64 32-byte keys, newest first; accounts/key_vault.py). Unset: one derived from
# SECRET_KEY (development only; production settings require the variable).
API_KEY_ENCRYPTION_KEYS = env_list("API_KEY_ENCRYPTION_KEYS", "")
API_KEY_MAX_PER_USER = int(os.environ.get("API_KEY_MAX_PER_USER", "30"))
API_KEY_RECV_WINDOW_DEFAULT_MS = 5000  # Binance's default and maximum
API_KEY_RECV_WINDOW_MAX_MS = 60000
API_KEY_FUTURE_SKEW_MS = 1000  # a timestamp this far ahead of the server's clock is refused
# Websocket frames: uvicorn closes the connection (1009) past this many bytes. The protocol's
# largest message is MAX_MESSAGE_CHARS (16,384) characters, at most 4 UTF-8 bytes each.
WS_MAX_MESSAGE_BYTES = int(os.environ.get("WS_MAX_MESSAGE_BYTES", str(64 * 1024)))

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# The ASGI app serves /static/ itself unless a proxy (nginx) does it.
SERVE_STATIC = env_bool("SERVE_STATIC", True)

# Logs (tradehive/log_format.py): LOG_FORMAT=json (production's default) writes one JSON object
# a line with the request id; plain lines otherwise.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tradehive.log_format.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(process)d %(message)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django logs every 4xx answer at WARNING: a line per refused order nobody reads (they
        # are counted by route and status in /metrics, rate-limit refusals in AbuseRecord).
        # 5xx stay at ERROR with their traceback (bench/log_volume.py).
        "django.request": {"level": "ERROR"},
    },
}
# /metrics (tradehive/metrics.py): with a token, only "Authorization: Bearer <token>"; without,
# only a direct loopback peer.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
