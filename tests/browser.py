"""Debian's Chromium for the browser tests: where it is, how it starts, page sizes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import ViewportSize

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE: ViewportSize = {"width": 390, "height": 844}
PROJECTOR: ViewportSize = {"width": 1280, "height": 720}
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
# Headless, and quiet: this machine's network is closed, so no background fetches.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("TOWNHALL_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is not installed: apt-get install chromium")
    return path
