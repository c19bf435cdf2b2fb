"""Fixtures for every test. The standard proxy variables point at a closed local port, so that
a stray request to the internet fails at once instead of leaving the machine."""

from __future__ import annotations

import pytest
from postgres import Server
from support import Site


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Any request not addressed to 127.0.0.1 goes to a closed port and fails at once."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("NEWSMIRROR_ARCHIVE", raising=False)




@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session (tests/postgres.py)."""
    server = Server()
    yield server
    server.close()


@pytest.fixture
def pg_url(postgres):
    """The URL of an empty database of this test's own."""
    return postgres.create_database()
