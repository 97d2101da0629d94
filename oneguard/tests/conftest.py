"""Tests never read ../shared: fixtures live in tests/fixtures/."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _no_shared_data(monkeypatch, tmp_path):
    # Point SHARED_DATA_DIR at an empty folder so nothing silently reads the real data.
    monkeypatch.setenv("SHARED_DATA_DIR", str(tmp_path / "no-shared-data"))
    monkeypatch.setenv("ONEGUARD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
