"""Headless Chromium for the tests (Debian's chromium + chromium-driver): nothing leaves the
machine, any host but 127.0.0.1 fails to resolve at once."""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver


def chromium(profile: Path, capabilities: dict[str, object] | None = None,
             prefs: dict[str, object] | None = None) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for name, value in (capabilities or {}).items():
        options.set_capability(name, value)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--no-proxy-server", f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
