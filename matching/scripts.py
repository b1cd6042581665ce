"""The engine's Lua scripts, read once from ``matching/lua``.

``lib.lua`` holds the functions the scripts share; it is prepended to each script so every
script is still one self-contained EVALSHA body (Redis 6.2 has no function libraries)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
SCRIPT_NAMES = ("submit", "submit_batch", "cancel", "cancel_all", "trigger", "rebuild", "depth",
                "snapshot",
                # price feeds (docs/feeds.md)
                "feed_observe", "feed_fill", "feed_take")


@cache
def script_source(name: str) -> str:
    """The full body of one engine script: lib.lua followed by ``<name>.lua``."""
    if name not in SCRIPT_NAMES:
        raise KeyError(name)
    lib = (LUA_DIR / "lib.lua").read_text()
    return lib + "\n" + (LUA_DIR / f"{name}.lua").read_text()
