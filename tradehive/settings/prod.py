"""Production: behind nginx with TLS. SECRET_KEY, DATABASE_URL and REDIS_URL must be set."""

import os

from .base import *  # noqa: F403
from .base import env_bool

if "SECRET_KEY" not in os.environ:
    raise RuntimeError("SECRET_KEY must be set in production")
if not os.environ.get("API_KEY_ENCRYPTION_KEYS"):
    # API-key secrets must not be decryptable from anything stored beside the database.
    raise RuntimeError("API_KEY_ENCRYPTION_KEYS must be set in production (accounts/key_vault.py)")
DEBUG = False
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "plain"  # noqa: F405
SERVE_STATIC = env_bool("SERVE_STATIC", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_CONTENT_TYPE_NOSNIFF = True
