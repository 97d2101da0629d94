"""Tests never read ../shared: fixtures live in tests/fixtures/.

The moderation fixtures are small hand-written stand-ins laid out like the shared data folder
(the loaders look files up by name). They are stored with a ``.fixture`` suffix, so that no
file in the repository carries a shared dataset's name, and copied once per test session to a
temporary folder under their real names.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

STORED_FIXTURES = Path(__file__).parent / "fixtures"
SUFFIX = ".fixture"


def _materialize(stored: Path) -> Path:
    root = Path(tempfile.mkdtemp(prefix="oneguard-fixtures-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for path in stored.rglob("*"):
        if path.is_file():
            rel = path.relative_to(stored).as_posix().removesuffix(SUFFIX)
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return root


FIXTURES = _materialize(STORED_FIXTURES)


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
