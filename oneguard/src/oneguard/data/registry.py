"""A registry of data sources: every loader says what it reads, which tasks it labels and what
role its data may play (train, eval-only, augmentation templates)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from oneguard.paths import moderation_data_dir
from oneguard.schema import Record

#: Roles a source may have. ``eval`` data is never trained on.
ROLES = frozenset({"train", "eval", "templates"})

Loader = Callable[[Path], Iterable[Record]]


@dataclass(frozen=True)
class Source:
    name: str
    #: Folder under ``moderation/`` that the loader reads; ``None`` for a source generated in
    #: code, which needs no data folder.
    folder: str | None
    #: Tasks it labels: subset of {"prompt", "response", "refusal", "category", "adversarial"}.
    tasks: tuple[str, ...]
    role: str
    loader: Loader
    description: str = ""

    def load(self, data_dir: str | Path | None = None) -> list[Record]:
        """Records of this source; ``data_dir`` is the ``moderation/`` folder (default: the
        shared data folder, see :func:`oneguard.paths.moderation_data_dir`)."""
        root = Path(data_dir) if data_dir is not None else moderation_data_dir()
        if self.folder is None:
            return list(self.loader(root))
        folder = root / self.folder
        if not folder.is_dir():
            raise FileNotFoundError(
                f"source {self.name!r}: folder {folder} not found "
                "(set SHARED_DATA_DIR or pass --data-dir)"
            )
        return list(self.loader(folder))


SOURCES: dict[str, Source] = {}


def register_source(
    name: str, *, folder: str | None, tasks: tuple[str, ...], role: str, description: str = ""
) -> Callable[[Loader], Loader]:
    """Decorator: register ``loader(folder) -> Iterable[Record]`` under ``name``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, got {role!r}")

    def decorate(loader: Loader) -> Loader:
        if name in SOURCES:
            raise ValueError(f"source {name!r} registered twice")
        SOURCES[name] = Source(name, folder, tasks, role, loader, description)
        return loader

    return decorate


def get_source(name: str) -> Source:
    _import_all()
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; known: {', '.join(sorted(SOURCES))}") from None


def all_sources() -> dict[str, Source]:
    _import_all()
    return dict(SOURCES)


def load_source(name: str, data_dir: str | Path | None = None) -> list[Record]:
    return get_source(name).load(data_dir)


def _import_all() -> None:
    """Import every module of ``oneguard.data.sources`` so their decorators run."""
    import importlib
    import pkgutil

    from oneguard.data import sources

    for info in pkgutil.iter_modules(sources.__path__):
        importlib.import_module(f"{sources.__name__}.{info.name}")
