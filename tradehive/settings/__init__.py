"""Settings package: ``base`` holds everything read from the environment; ``dev``, ``test`` and
``prod`` adjust it. ``DJANGO_SETTINGS_MODULE`` picks one (``manage.py`` defaults to ``dev``)."""
