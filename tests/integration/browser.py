"""A real headless Chromium (Debian's `chromium`, installed by scripts/test.sh) driven by
Playwright, for the HTML report. Every request but the page's own file is blocked and counted,
and every console error and uncaught exception is kept, so a test can say the page fetched
nothing and ran clean.

Chromium runs as root here, so it needs --no-sandbox, and a fresh profile per browser; the
other flags keep it from reaching out on its own (updates, sync, field trials)."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = os.environ.get("NR_APPLY_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


@dataclass
class LoadedPage:
    page: object  # playwright.sync_api.Page
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # every request that was not the file itself


@contextmanager
def chromium():
    """A browser (Playwright's Browser) on the system's Chromium, with a throw-away profile."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="nr-apply-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                viewport={"width": 1500, "height": 1000}, ignore_default_args=["--enable-automation"])
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_report(context, path: Path, timeout_ms: int = 30_000) -> LoadedPage:
    """Open `path` with every other request blocked; wait until the page's script has drawn it."""
    page = context.new_page()
    loaded = LoadedPage(page)
    url = path.resolve().as_uri()

    def route(r):
        if r.request.url == url:
            r.continue_()
        else:
            loaded.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: loaded.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: loaded.console_errors.append(f"uncaught: {e}"))
    page.goto(url, wait_until="load", timeout=timeout_ms)
    page.wait_for_selector("body[data-ready=true]", timeout=timeout_ms)
    return loaded
