"""Loopback ports for the servers a test starts itself."""

from __future__ import annotations

import socket
from collections.abc import Sequence

# The range the scaled-out layout's tests take their servers' ports from (Redis Cluster nodes
# and their bus ports, the Channels Redis, web processes, nginx): one range per test setup on a
# shared machine, so concurrent suites do not race for the same ports.
PORTS = range(7100, 7200)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, ports: Sequence[int] = PORTS, *, taken: Sequence[int] = ()) -> list[int]:
    """``count`` ports of ``ports`` free to bind right now and not in ``taken`` (ports chosen
    for servers not started yet)."""
    found = [p for p in ports if p not in taken and port_free(p)][:count]
    if len(found) < count:
        raise RuntimeError(f"fewer than {count} free ports in {ports}")
    return found
