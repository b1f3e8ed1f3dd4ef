"""The offline guard itself: remote connections and lookups fail, loopback works."""
import os
import socket
import subprocess
import sys

import pytest
import course_netguard as guard


@pytest.fixture
def private_log(tmp_path, monkeypatch):
    """Send this test's refused attempts to its own log so the session log stays clean."""
    log = tmp_path / "attempts.log"
    monkeypatch.setenv("COURSE_NETGUARD_LOG", str(log))
    return log


def test_remote_connect_is_refused_and_logged(private_log):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(guard.NetworkBlocked, match="network access is blocked"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1, never routable
    sock.close()
    assert "192.0.2.1" in private_log.read_text()


def test_name_lookup_is_refused(private_log):
    with pytest.raises(guard.NetworkBlocked):
        socket.getaddrinfo("example.org", 443)
    with pytest.raises(guard.NetworkBlocked):
        socket.create_connection(("example.org", 443), timeout=1)
    assert private_log.read_text().count("example.org") == 2


def test_loopback_is_allowed():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    conn, _ = server.accept()
    client.sendall(b"ok")
    assert conn.recv(2) == b"ok"
    for s in (client, conn, server):
        s.close()


def test_child_processes_inherit_the_guard(private_log):
    code = ("import socket\n"
            "try:\n"
            "    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
            "except RuntimeError as e:\n"
            "    print(type(e).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ.copy(), timeout=60)
    assert out.stdout.strip() == "NetworkBlocked", out.stderr
    assert "192.0.2.1" in private_log.read_text()
