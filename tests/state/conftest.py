"""Fixtures for the state-store tests: one real PostgreSQL server per test session, a fresh
database per test."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from pg_server import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A URL (password included) to an empty database of its own."""
    return postgres.url(postgres.create_database("t_" + uuid.uuid4().hex[:12]))
