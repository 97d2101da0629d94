"""Where OneGuard finds things on disk: shared data, shipped weights, caches."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: Repository root when running from a checkout (oneguard/src/oneguard/paths.py -> root).
REPO_ROOT = Path(__file__).resolve().parents[3]
#: Weights shipped inside the package (small; see the model card beside them).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_MODEL_DIR = WEIGHTS_DIR / "default"
#: Files larger than this are fingerprinted by size and mtime instead of content.
_HASH_LIMIT_BYTES = 256 * 1024 * 1024


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


def fingerprint_path(path: Path) -> str:
    """A short hash of a file or directory tree: names, sizes and contents."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        stat = file.stat()
        rel = file.name if file == path else file.relative_to(path).as_posix()
        digest.update(f"{rel}\0{stat.st_size}\0".encode())
        if stat.st_size > _HASH_LIMIT_BYTES:
            digest.update(str(stat.st_mtime_ns).encode())
            continue
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def fingerprint_model(path: Path) -> str:
    """Fingerprint of what decides a model's outputs. An embedded artifact is hashed by its
    config and weights only, so re-rendering its model card or benchmark notes keeps the
    cached predictions; any other file or folder by everything in it."""
    from oneguard.model.artifact import CONFIG_FILE, is_artifact

    if not is_artifact(path):
        return fingerprint_path(path)
    files = sorted([path / CONFIG_FILE, *path.glob("*.safetensors")])
    parts = [fingerprint_path(f) for f in files]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
