#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.dev")
    from django.core.management import execute_from_command_line

    from tradehive.embedded_postgres import ensure_database_url

    # Without DATABASE_URL, commands run on the embedded PostgreSQL in var/pgdata (started or
    # joined here, stopped when its last user exits).
    ensure_database_url()

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
