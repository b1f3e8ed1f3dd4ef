"""Network guard for the test suite.

Put this folder on PYTHONPATH (tests/conftest.py does) and every Python process started by
the tests, notebook kernels included, refuses connections to anything but loopback and
Unix sockets. Each refused attempt raises ``NetworkBlocked`` and is appended to the file
named by ``COURSE_NETGUARD_LOG``, so the test session fails even if a library swallows the
exception.
"""
from __future__ import annotations

import ipaddress
import os
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class NetworkBlocked(RuntimeError):
    """Raised when code under test tries to reach the network."""


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%")[0]
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _refuse(what: str):
    log = os.environ.get("COURSE_NETGUARD_LOG")
    if log:
        try:
            with open(log, "a") as f:
                f.write(f"pid {os.getpid()}: {what}\n")
        except OSError:
            pass
    raise NetworkBlocked(f"network access is blocked during tests: {what}")


def _check_address(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        if not _is_local(address[0]):
            _refuse(f"connect to {address!r}")


def install() -> None:
    """Patch the socket module of this process (idempotent)."""
    if getattr(socket, "_course_guard_installed", False):
        return
    connect, connect_ex, sendto = socket.socket.connect, socket.socket.connect_ex, \
        socket.socket.sendto
    getaddrinfo = socket.getaddrinfo

    def guarded_connect(self, address):
        _check_address(self, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        _check_address(self, address)
        return connect_ex(self, address)

    def guarded_sendto(self, data, *args):
        _check_address(self, args[-1])
        return sendto(self, data, *args)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_local(host):
            _refuse(f"name lookup of {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.socket.sendto = guarded_sendto
    socket.getaddrinfo = guarded_getaddrinfo
    socket._course_guard_installed = True


if os.environ.get("COURSE_NETGUARD") == "1":
    install()
