"""Local development and ``make run``: debug on unless DEBUG=0."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DEBUG", True)
