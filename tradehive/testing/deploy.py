"""The deployment files' commands, run on loopback by the tests of the production layout.

``docker/Dockerfile``'s CMD (uvicorn, ASGI: websockets) and ``docker/compose.yml``'s services'
commands (gunicorn for HTTP, Celery, settlement) are read from the files themselves, so the
tests run what production runs rather than a copy of it."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import yaml

from tradehive.testing.processes import ROOT

COMPOSE = ROOT / "docker" / "compose.yml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def dockerfile_command() -> list[str]:
    """The Dockerfile's CMD (the exec form, a JSON list over continued lines)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = re.search(r"^CMD (\[.*?\])\s*$", text, flags=re.MULTILINE | re.DOTALL)
    assert found, "docker/Dockerfile: no CMD [...]"
    return json.loads(found.group(1))


def compose_services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def compose_commands() -> dict[str, list[str]]:
    """Each compose service's command; the image's CMD where it gives none."""
    return {
        name: service.get("command") or dockerfile_command()
        for name, service in compose_services().items()
    }


def on_loopback(command: list[str], port: int, *, workers: int | None = None) -> list[str]:
    """A container's web command as this machine runs it: this interpreter, listening on
    127.0.0.1:``port`` instead of 0.0.0.0:8000 (uvicorn's ``--host``/``--port``, gunicorn's
    ``--bind``); each of those options must be there, so a changed file fails loudly.
    ``workers`` replaces the command's ``--workers`` (fewer processes on a shared test box)."""
    command = list(command)
    if command[0] == "python":
        command = [sys.executable, *command[1:]]
    else:  # a console script (gunicorn): its module under this interpreter
        command = [sys.executable, "-m", *command]
    replaced = 0
    for option, value in (
        ("--host", "127.0.0.1"),
        ("--port", str(port)),
        ("--bind", f"127.0.0.1:{port}"),
    ):
        if option in command:
            command[command.index(option) + 1] = value
            replaced += 1
    assert replaced in (1, 2), f"no listen address to replace in {command}"
    if workers is not None and "--workers" in command:
        command[command.index("--workers") + 1] = str(workers)
    return command
