"""Where OneGuard finds things on disk: shared data, shipped weights, caches."""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root when running from a checkout (oneguard/src/oneguard/paths.py -> root).
REPO_ROOT = Path(__file__).resolve().parents[3]
#: Weights shipped inside the package (small; see the model card beside them).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_MODEL_DIR = WEIGHTS_DIR / "default"


def shared_data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Moderation/data root: ``override``, else ``$SHARED_DATA_DIR``, else ``../shared/data``
    next to the repository root (not the working directory)."""
    if override is not None:
        return Path(override)
    env = os.environ.get("SHARED_DATA_DIR")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"


def moderation_data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The ``moderation/`` folder under the shared data root."""
    return shared_data_dir(override) / "moderation"


def cache_dir() -> Path:
    """Per-user cache (eval predictions, embeddings): ``$ONEGUARD_CACHE`` or ~/.cache/oneguard."""
    return Path(os.environ.get("ONEGUARD_CACHE", Path.home() / ".cache" / "oneguard"))
