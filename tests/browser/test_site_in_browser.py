"""The built course site in headless Chromium: index and a chapter page render without errors.

The site is built once (chapter 02 executed) and served from a loopback ``http.server``; the
``lab_page`` fixture lets only loopback, data: and blob: requests out, so a page that tried to
load a script or font from a CDN would show up as a blocked request.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course_utils.instructor import site

CHAPTER = "02_fourier"
SERVER_START_TIMEOUT_S = 30
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """The site for one chapter, built once for this module."""
    out = tmp_path_factory.mktemp("site")
    site.build_site(out, chapters=[CHAPTER], jobs=1, log=lambda *_: None)
    return out


@pytest.fixture(scope="module")
def site_url(built_site) -> str:
    """``http://127.0.0.1:PORT`` serving the built site; the server is stopped afterwards."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port),
                             "--bind", "127.0.0.1", "--directory", str(built_site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        t0 = time.monotonic()
        while True:
            try:
                with opener.open(f"{url}/index.html", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() - t0 > SERVER_START_TIMEOUT_S:
                    raise RuntimeError(f"http.server did not serve {built_site}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _broken_images(page) -> list[str]:
    return page.evaluate("""() => Array.from(document.images)
        .filter(img => !(img.complete && img.naturalWidth > 0))
        .map(img => (img.alt || img.src).slice(0, 80))""")


def test_index_and_chapter_page_render_without_errors(lab_page, site_url, artifacts):
    page, log = lab_page
    page.goto(f"{site_url}/index.html", wait_until="load")
    rows = page.locator("#chapters tbody tr")
    assert rows.count() == 1
    link = rows.first.locator("a")
    assert link.text_content() == "02 The Fourier transform"
    page.screenshot(path=artifacts / "site-index.png")

    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/{CHAPTER}.html")
    assert page.title() == "02 The Fourier transform"
    images = page.locator(".jp-OutputArea-output img")
    assert images.count() > 0
    assert _broken_images(page) == []
    # every live widget shows its last figure right under its controls' line
    controls = page.locator(".course-widget-controls")
    assert controls.count() > 0
    for k in range(controls.count()):
        figure = controls.nth(k).locator(
            "xpath=ancestor::div[contains(@class,'jp-OutputArea-child')]"
            "/following-sibling::div[1]//img")
        assert figure.count() == 1, f"widget {k + 1} shows no figure"
        assert figure.evaluate("img => img.naturalWidth") > 0
    assert page.locator(".jp-OutputArea-output[data-mime-type="
                        "'application/vnd.jupyter.stderr']").count() == 0
    page.screenshot(path=artifacts / f"site-{CHAPTER}.png", full_page=False)

    page.locator("nav.course-nav a").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/index.html")
    assert log.console_errors == []
    assert log.blocked_requests == []
