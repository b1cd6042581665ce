"""Local development: ``manage.py`` commands run with debug on unless DEBUG=0. ``make run`` uses
these settings with DEBUG=0 unless DEBUG=1 is given (``tradehive.launcher.LAUNCH_DEFAULTS``)."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DEBUG", True)
