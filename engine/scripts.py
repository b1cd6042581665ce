"""The engine's Lua, read once from ``engine/lua``, in the two forms Redis can run it.

``lib.lua`` holds the functions and per-call state the scripts share; each ``<name>.lua`` is the
body of one operation. Every body runs as ``script(ARGV)`` after ``begin(keys)``.

- **Function library** (Redis 7+, what ``Engine`` uses when the server has ``FUNCTION``): lib and
  every body in one library, each body registered as ``th_<digest>_<name>``. The library's
  functions are built once, when it is loaded; a call only runs them. (As an ``EVALSHA`` body,
  the lib's ~60 closures and their upvalues are built on every call: ~20 us of server time
  per call, a third of a single order's cost.)
- **Scripts** (Redis 6.2, e.g. the bundled redis-server): lib followed by one body, a
  self-contained ``EVALSHA`` body per operation.

The digest is that of the whole library, so two versions of the code (a rolling deploy) use
different names side by side, as ``EVALSHA`` does by content."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
SCRIPT_NAMES = (
    "submit",
    "submit_batch",
    "cancel",
    "cancel_all",
    "trigger",
    "rebuild",
    "depth",
    "snapshot",
    # price feeds (docs/feeds.md)
    "feed_observe",
    "feed_fill",
    "feed_take",
)


def _read(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()


@cache
def script_source(name: str) -> str:
    """The full ``EVALSHA`` body of one engine script: lib.lua, then ``<name>.lua`` as a function
    of ARGV, run after ``begin(KEYS)``."""
    if name not in SCRIPT_NAMES:
        raise KeyError(name)
    return (
        f"local CALL_KEYS, CALL_ARGV = KEYS, ARGV\n{_read('lib')}\n"
        f"local function script(ARGV)\n{_read(name)}\nend\n"
        "begin(CALL_KEYS)\nreturn script(CALL_ARGV)\n"
    )


@cache
def library_source() -> tuple[str, str]:
    """``(function name prefix, library code)`` of the engine's function library: call
    operation ``name`` as ``FCALL <prefix><name> numkeys keys... args...``."""
    bodies = "".join(
        f"local function script_{name}(ARGV)\n{_read(name)}\nend\n" for name in SCRIPT_NAMES
    )
    code = f"{_read('lib')}\n{bodies}"
    digest = hashlib.sha1(code.encode()).hexdigest()[:12]  # noqa: S324 (a name, not security)
    prefix = f"th_{digest}_"
    registrations = "".join(
        f"redis.register_function('{prefix}{name}', "
        f"function(keys, args) begin(keys) return script_{name}(args) end)\n"
        for name in SCRIPT_NAMES
    )
    return prefix, f"#!lua name=tradehive_engine_{digest}\n{code}{registrations}"
