"""Offline guard: with COURSE_OFFLINE=1, refuse every network connection that
leaves this machine, so that a hidden download fails loudly instead of working
on a developer's laptop and failing in CI.

The root conftest.py puts this folder first on PYTHONPATH and sets
COURSE_OFFLINE=1, so Python loads this file at start-up in the test process,
in every subprocess, and in the Jupyter kernels nbval starts for the
notebooks. Loopback (127.0.0.0/8, ::1, localhost) and Unix sockets stay
allowed: the kernels talk to pytest over them.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any


class OfflineError(OSError):
    """A network connection was attempted while the course's tests run offline."""


def _is_local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str) or host in ("localhost", "", "0.0.0.0"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host.endswith(".localhost")


def _refuse(what: str) -> OfflineError:
    return OfflineError(
        f"offline guard: {what} refused. The course must work without internet "
        "(no downloads of data or weights at run time); see the README."
    )


def install() -> None:
    """Patch socket so that only local connections and name lookups succeed."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise _refuse(f"connection to {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise _refuse(f"connection to {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host):
            raise _refuse(f"name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo


if os.environ.get("COURSE_OFFLINE") == "1":
    install()
