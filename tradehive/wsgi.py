"""WSGI entry point (gunicorn: docker/compose.yml)."""

import os

from django.core.wsgi import get_wsgi_application

from tradehive.gc_tune import web_process_gc_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.dev")
application = get_wsgi_application()
web_process_gc_tune()
