"""The WildGuard paper's published numbers (``published.json``), so every report can print
them beside what we measured. The file is data, transcribed from the reference document with
a source annotation per table and row; this module only reads and validates it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

#: Keys of the tables in ``published.json``.
PUBLIC_BENCHMARKS = "public_benchmarks"  # Paper Table 3
XSTEST_RESP = "xstest_resp"  # Paper Tables 2 and 20
WILDGUARDTEST = "wildguardtest"  # Paper Table 4
JAILBREAK_FILTER = "jailbreak_filter"  # Paper Tables 6 and 21

#: The paper's own model, highlighted in plots.
WILDGUARD = "WildGuard"


@dataclass(frozen=True)
class PublishedRow:
    model: str
    #: Column -> value in percent; ``None`` where the paper prints "–".
    values: dict[str, float | None]
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class PublishedTable:
    key: str
    caption: str
    source: str
    metric: str
    columns: tuple[str, ...]
    rows: tuple[PublishedRow, ...]
    #: Average column -> the columns it averages (Table 3's prompt/response averages).
    averages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def row(self, model: str) -> PublishedRow:
        for row in self.rows:
            if row.model == model:
                return row
        raise KeyError(f"no published row {model!r} in table {self.key!r}")


def _table(key: str, raw: dict[str, Any], where: str) -> PublishedTable:
    try:
        columns = tuple(raw["columns"])
        rows = []
        for i, row in enumerate(raw["rows"]):
            values = row["values"]
            unknown = set(values) - set(columns)
            if unknown:
                raise ValueError(f"{where}: {key}.rows[{i}] has unknown columns {sorted(unknown)}")
            rows.append(
                PublishedRow(
                    model=row["model"],
                    values={c: values.get(c) for c in columns},
                    source=row.get("source"),
                    note=row.get("note"),
                )
            )
        return PublishedTable(
            key=key,
            caption=raw["caption"],
            source=raw["source"],
            metric=raw["metric"],
            columns=columns,
            rows=tuple(rows),
            averages={k: tuple(v) for k, v in raw.get("averages", {}).items()},
            notes=tuple(raw.get("notes", ())),
        )
    except KeyError as err:
        raise ValueError(f"{where}: table {key!r} lacks field {err.args[0]!r}") from None


def load_published(path: str | Path | None = None) -> dict[str, PublishedTable]:
    """All published tables by key (default: the copy shipped with the package)."""
    if path is None:
        return dict(_shipped())
    return _parse(Path(path).read_text(encoding="utf-8"), str(path))


@cache
def _shipped() -> dict[str, PublishedTable]:
    text = resources.files("oneguard.eval").joinpath("published.json").read_text("utf-8")
    return _parse(text, "oneguard/eval/published.json")


def _parse(text: str, where: str) -> dict[str, PublishedTable]:
    raw = json.loads(text)
    return {key: _table(key, table, where) for key, table in raw["tables"].items()}
