"""Fixtures for the browser tests: a private JupyterLab server per test, one headless Chromium.

Each test gets its own server (fresh kernel, its own config/data/runtime/settings dirs in a
temporary folder, no token, loopback only) serving a temporary copy of one notebook. The
browser is Debian's Chromium driven by Playwright; it is never downloaded. Without it the
tests skip, unless ``COURSE_REQUIRE_BROWSER=1`` (set by CI) turns the skip into a failure.
Every server is stopped in a finalizer (process group SIGTERM, then SIGKILL), also when a
test fails or times out.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "install it with `apt-get install -y chromium`"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_TIMEOUT_S = 120
SERVER_STOP_TIMEOUT_S = 30

# Server side: no news feed, no update check, no PyPI-backed extension manager.
SERVER_CONFIG = {"LabApp": {
    "news_url": None,
    "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "extension_manager": "readonly",
}}
# Front end (overrides.json in a private app-settings dir): never ask to fetch news or check
# for updates, hide the extension manager, and render every cell (no windowing), so that
# every output is in the DOM when the tests look for errors.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}
_LOOPBACK_URL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/")
# Talk to our own server directly, whatever proxy the environment names.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def browser_required() -> bool:
    """True where a missing browser must fail the run (CI sets COURSE_REQUIRE_BROWSER=1)."""
    return os.environ.get("COURSE_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("the Python package playwright is missing: "
                "`.venv/bin/pip install -r requirements-test.txt` (never `playwright install`)")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium was not found at {CHROMIUM}: {INSTALL_HINT}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children_by_parent() -> dict[int, list[int]]:
    """Map pid -> child pids from /proc (empty where there is no /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def descendants(pid: int) -> list[int]:
    """All processes below ``pid`` (kernels run in sessions of their own)."""
    children, found, todo = _children_by_parent(), [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


@dataclass
class LabServer:
    """One running JupyterLab server serving ``workdir`` (a copy of one notebook)."""

    base: Path
    workdir: Path
    proc: subprocess.Popen
    netguard_log: Path
    widget_log: Path | None = None  # each widget update's kernel seconds (course_utils.widgets)
    port: int = 0
    started_in_s: float = 0.0
    kernel_pids: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}"

    def log_tail(self, chars: int = 3000) -> str:
        log = self.base / "server.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def kernel_commands(self) -> list[list[str]]:
        """Command lines of the kernels this server runs now (remembered for the teardown)."""
        commands = []
        for pid in descendants(self.proc.pid):
            cmd = _cmdline(pid)
            if any("ipykernel" in part for part in cmd):
                self.kernel_pids.add(pid)
                commands.append(cmd)
        return commands

    def network_attempts(self) -> str:
        """What the network guard refused in the server and its kernels (empty if nothing)."""
        return self.netguard_log.read_text() if self.netguard_log.exists() else ""

    @classmethod
    def start(cls, base: Path, notebook: Path) -> "LabServer":
        dirs = {name: base / name for name in (
            "work", "config", "data", "runtime", "app-settings", "user-settings",
            "workspaces", "ipython")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, dirs["work"] / notebook.name)
        (dirs["config"] / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
        (dirs["app-settings"] / "overrides.json").write_text(json.dumps(LAB_OVERRIDES))
        netguard_log = base / "netguard.log"
        widget_log = base / "widget-latency.jsonl"
        env = dict(os.environ, COURSE_WIDGET_LOG=str(widget_log),
                   JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
                   JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]),
                   COURSE_NETGUARD_LOG=str(netguard_log))
        # tests/conftest.py sets MPLBACKEND=Agg for the test process; a student's kernel
        # uses the inline backend, so the kernel here must too.
        env.pop("MPLBACKEND", None)
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               f"--port={_free_port()}", "--ServerApp.ip=127.0.0.1",
               "--IdentityProvider.token=", "--ServerApp.password=",
               f"--ServerApp.root_dir={dirs['work']}",
               f"--LabApp.app_settings_dir={dirs['app-settings']}",
               f"--LabApp.user_settings_dir={dirs['user-settings']}",
               f"--LabApp.workspaces_dir={dirs['workspaces']}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        with open(base / "server.log", "wb") as log:
            proc = subprocess.Popen(cmd, cwd=dirs["work"], env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        server = cls(base=base, workdir=dirs["work"], proc=proc, netguard_log=netguard_log,
                     widget_log=widget_log)
        try:
            server._wait_until_ready(dirs["runtime"])
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_until_ready(self, runtime_dir: Path) -> None:
        t0 = time.monotonic()
        info = runtime_dir / f"jpserver-{self.proc.pid}.json"
        while time.monotonic() - t0 < SERVER_START_TIMEOUT_S:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode}:\n"
                                   + self.log_tail())
            if info.exists():
                try:
                    # The real port: the server moves on if the free port was taken meanwhile.
                    self.port = int(json.loads(info.read_text())["port"])
                    with _HTTP.open(f"{self.url}/api/status", timeout=5) as reply:
                        if reply.status == 200:
                            self.started_in_s = time.monotonic() - t0
                            return
                except (OSError, ValueError, KeyError):
                    pass
            time.sleep(0.25)
        raise TimeoutError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S} s:\n"
                           + self.log_tail())

    def stop(self) -> None:
        """Stop the server and its kernels: SIGTERM to its process group, then SIGKILL."""
        if self.proc.poll() is None:
            self.kernel_commands()  # remember the kernels' pids before they are orphaned
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # graceful: also shuts down kernels
                self.proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for pid in self.kernel_pids:  # kernels run in their own sessions
            try:
                if any("ipykernel" in part for part in _cmdline(pid)):
                    os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        # Whatever the guard refused also fails the whole session (tests/conftest.py).
        attempts = self.network_attempts()
        session_log = os.environ.get("COURSE_NETGUARD_LOG")
        if attempts and session_log:
            with open(session_log, "a") as f:
                f.write(attempts)


@pytest.fixture(scope="session")
def chromium() -> Iterator["playwright.sync_api.Browser"]:  # noqa: F821
    """Headless system Chromium (session-wide; each test opens a fresh context)."""
    problem = missing_browser()
    if problem:
        if browser_required():
            pytest.fail(f"browser tests cannot run: {problem} "
                        "(COURSE_REQUIRE_BROWSER=1 makes a missing browser a failure)")
        pytest.skip(f"browser tests skipped: {problem}")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
    except BaseException:
        playwright.stop()
        raise
    yield browser
    try:
        browser.close()
    finally:
        playwright.stop()


@dataclass
class PageLog:
    """What the page reported: console errors, uncaught exceptions, blocked requests."""

    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)


@pytest.fixture
def lab_page(chromium) -> Iterator[tuple["playwright.sync_api.Page", PageLog]]:  # noqa: F821
    """A page in a fresh browser context (empty profile); only loopback requests go out."""
    context = chromium.new_context(viewport=VIEWPORT)
    log = PageLog()

    def only_loopback(route):
        url = route.request.url
        if _LOOPBACK_URL.match(url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            log.blocked_requests.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    context.set_default_timeout(60_000)  # clicks and waits on a busy 2-core machine
    page = context.new_page()
    page.on("console", lambda msg: log.console_errors.append(msg.text)
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: log.console_errors.append(f"uncaught: {exc}"))
    try:
        yield page, log
    finally:
        context.close()


@pytest.fixture
def lab_server(tmp_path) -> Iterator[Callable[[Path], LabServer]]:
    """``start(notebook)`` -> a JupyterLab server on a copy of it; all stopped at teardown."""
    servers: list[LabServer] = []

    def start(notebook: Path) -> LabServer:
        server = LabServer.start(tmp_path / f"lab{len(servers)}", notebook)
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/browser/ (git-ignored): screenshots and per-notebook timings."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
