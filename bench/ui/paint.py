"""The dial-in page's first meaningful paint for ``python -m bench.ui``: the page's app served by uvicorn
on a free loopback port (``serving``), loaded in Debian's Chromium through Playwright, each load in a new
browser context (``loads``): ``first-contentful-paint`` and the page's ``dialin-data`` mark (set after
the first tiles and rows are drawn), in ms since navigation start.

May import: Playwright, uvicorn, ``bench.harness`` and the standard library.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.harness.run import until

CHROMIUM = os.environ.get("DAILY_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
_TIMINGS = """() => ({
  fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime,
  data: performance.getEntriesByName('dialin-data')[0].startTime,
  rows: document.querySelectorAll('#rows tr').length,
})"""


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free port; yields its base URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="bench-ui-server", daemon=True)
    thread.start()
    if not until(lambda: server.started or not thread.is_alive(), 30, every=0.05) or not server.started:
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def loads(
    url: str, repeat: int, *, before: Callable[[], Any] | None = None, timeout_ms: int = 30_000
) -> list[dict[str, float]]:
    """``repeat`` loads of ``url``, each in a new context (after one warm-up load; ``before`` is
    called before each): their timings."""
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(repeat + 1):
                if before is not None:
                    before()
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                try:
                    page = context.new_page()
                    page.goto(url)
                    page.wait_for_function("performance.getEntriesByName('dialin-data').length > 0", timeout=timeout_ms)
                    timings.append(page.evaluate(_TIMINGS))
                finally:
                    context.close()
        finally:
            browser.close()
    return timings[1:]
