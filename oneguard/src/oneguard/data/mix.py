"""The training mix: every train-role source, cleaned, augmented, balanced and split.

Steps, in order (each one reported in the summary):

1. load every ``train`` source and every ``eval`` source of the registry;
2. drop training rows that overlap any evaluation set (:mod:`oneguard.data.dedup`);
3. one record per text and one label per task within the training data;
4. adversarial variants of harmful and benign requests (:mod:`oneguard.data.augment`);
5. cap each source so that no single source dominates; a cap spreads its rows evenly over
   the source's label strata, so a capped source keeps its minority labels (refusals, say);
6. carve a dev split, stratified by source and labels, by normalised prompt: every record of
   a prompt, including the augmented variants of that prompt, lands on the same side; with
   ``keep_split_from``, prompts an earlier mix had already placed keep their side, so a model
   fine-tuned from one trained on that mix is still scored on prompts it never saw;
7. optionally, cross pairs made from the train split (:mod:`oneguard.data.cross`);
8. write Parquet (the :class:`~oneguard.schema.Record` fields, zstd) and a summary (markdown
   and JSON) next to it.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from oneguard.data.augment import AUGMENT_PREFIX, AugmentConfig, augment_pairs, source_family
from oneguard.data.cross import cross_pairs
from oneguard.data.dedup import (
    DedupReport,
    EvalIndex,
    drop_eval_overlap,
    prompt_key,
    resolve_training_duplicates,
)
from oneguard.data.registry import Source, all_sources
from oneguard.data.templates import TemplateLibrary, load_template_library
from oneguard.schema import UNKNOWN, Record

#: Tasks of the summary table and the record field holding each one's label.
TASK_FIELDS: dict[str, str] = {
    "prompt": "prompt_harm_label",
    "response": "response_harm_label",
    "refusal": "response_refusal_label",
}
TASK_LABELS: dict[str, tuple[str, str]] = {
    "prompt": ("harmful", "unharmful"),
    "response": ("harmful", "unharmful"),
    "refusal": ("refusal", "compliance"),
}
DEV = "dev"
TRAIN = "train"

_PARQUET_SCHEMA = pa.schema(
    [
        pa.field(f.name, pa.bool_() if f.name == "adversarial" else pa.string())
        for f in fields(Record)
    ]
)


class MixError(RuntimeError):
    """The mix cannot be built as asked (missing data, nothing to train on)."""


@dataclass(frozen=True)
class MixConfig:
    """Knobs of :func:`build_mix`. On the shared data the defaults give about 74k rows, a
    third of them adversarial (see the summary written next to the Parquet)."""

    seed: int = 0
    #: Rows kept per source after deduplication (augmented sources are sized by ``augment``).
    max_per_source: int = 6000
    #: Per-source overrides of ``max_per_source``.
    source_caps: Mapping[str, int] = field(default_factory=dict)
    dev_fraction: float = 0.05
    #: ``None`` builds the mix without adversarial augmentation.
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    #: Registered sources to leave out (neither trained on nor deduplicated against).
    exclude: tuple[str, ...] = ()
    #: Drop every row whose prompt is in an evaluation set, instead of removing only the
    #: labels judged there (see :mod:`oneguard.data.dedup`).
    strict_eval_dedup: bool = False
    #: An earlier mix (Parquet) whose train/dev side each of its prompts keeps in this one.
    keep_split_from: str | None = None
    #: Cross pairs added to the train split (:mod:`oneguard.data.cross`; 0: none).
    cross_pairs: int = 0


@dataclass
class MixResult:
    """The built mix and everything the summary reports."""

    records: list[Record]
    #: Rows loaded per source (train and eval).
    loaded: Counter[str]
    report: DedupReport
    #: Rows removed by the per-source cap.
    capped: Counter[str]
    train_sources: list[str]
    eval_sources: list[str]
    library_counts: dict[str, int]
    library_missing: tuple[str, ...]
    #: Seconds per step.
    timings: dict[str, float]
    config: MixConfig


# ---------------------------------------------------------------------------------------------
# Building


def _select_sources(
    sources: Mapping[str, Source], exclude: Iterable[str]
) -> tuple[list[Source], list[Source]]:
    excluded = set(exclude)
    unknown = excluded - set(sources)
    if unknown:
        raise MixError(f"cannot exclude unknown source(s): {', '.join(sorted(unknown))}")
    chosen = [s for name, s in sorted(sources.items()) if name not in excluded]
    return [s for s in chosen if s.role == "train"], [s for s in chosen if s.role == "eval"]


def _check_folders(data_dir: Path, chosen: Sequence[Source]) -> None:
    if not data_dir.is_dir():
        raise MixError(
            f"moderation data folder {data_dir} not found "
            "(pass --data-dir or set SHARED_DATA_DIR to the folder that holds moderation/)"
        )
    missing = sorted(
        {s.folder for s in chosen if s.folder is not None and not (data_dir / s.folder).is_dir()}
    )
    if missing:
        names = sorted(s.name for s in chosen if s.folder in missing)
        raise MixError(
            f"{len(missing)} source folder(s) missing under {data_dir}: {', '.join(missing)} "
            f"(sources {', '.join(names)}); pass --exclude NAME to build without them"
        )


def _load_all(
    sources: Sequence[Source], data_dir: Path, progress: bool
) -> tuple[dict[str, list[Record]], Counter[str]]:
    from tqdm import tqdm

    loaded: dict[str, list[Record]] = {}
    counts: Counter[str] = Counter()
    for source in tqdm(sources, desc="load sources", unit="source", disable=not progress):
        records = source.load(data_dir)
        loaded[source.name] = records
        counts[source.name] = len(records)
    return loaded, counts


def balanced_quotas(sizes: Mapping[object, int], cap: int) -> dict[object, int]:
    """Split ``cap`` rows over strata of the given sizes, evenly first ("water-filling"):
    every stratum gets up to the same level, strata smaller than the level keep everything,
    and the level rises until the cap is spent. A minority label is kept whole when it can
    be, instead of shrinking with the majority."""
    if sum(sizes.values()) <= cap:
        return dict(sizes)
    quotas = dict.fromkeys(sizes, 0)
    open_strata = sorted(sizes, key=lambda k: (sizes[k], str(k)))
    left = cap
    while open_strata:
        level = left // len(open_strata)
        smallest = open_strata[0]
        if sizes[smallest] <= level:
            quotas[smallest] = sizes[smallest]
            left -= sizes[smallest]
            open_strata.pop(0)
            continue
        # Every remaining stratum is larger than the level: share what is left evenly,
        # the remainder going to the largest strata.
        for key in open_strata:
            quotas[key] = level
        for key in sorted(open_strata, key=lambda k: (-sizes[k], str(k)))[
            : left - level * len(open_strata)
        ]:
            quotas[key] += 1
        break
    return quotas


def cap_per_source(
    records: Sequence[Record], caps: Callable[[str], int | None], seed: int
) -> tuple[list[Record], Counter[str]]:
    """At most ``caps(source)`` records per source (``None``: no cap), spread over the
    source's label strata by :func:`balanced_quotas`; random within a stratum."""
    by_source: dict[str, list[int]] = defaultdict(list)
    for position, record in enumerate(records):
        by_source[record.source].append(position)
    keep: set[int] = set()
    capped: Counter[str] = Counter()
    for source, positions in by_source.items():
        cap = caps(source)
        if cap is None or len(positions) <= cap:
            keep.update(positions)
            continue
        strata: dict[tuple, list[int]] = defaultdict(list)
        for position in positions:
            strata[_label_signature(records[position])].append(position)
        quotas = balanced_quotas({key: len(members) for key, members in strata.items()}, cap)
        rng = random.Random(f"oneguard-cap:{seed}:{source}")
        for key in sorted(strata, key=str):
            members = list(strata[key])
            rng.shuffle(members)
            keep.update(members[: quotas[key]])
        capped[source] = len(positions) - cap
    return [r for p, r in enumerate(records) if p in keep], capped


def _label_signature(record: Record) -> tuple:
    return (
        record.prompt_harm_label,
        record.response_harm_label,
        record.response_refusal_label,
        bool(record.adversarial),
    )


def split_dev(
    records: Sequence[Record], groups: Sequence[str], fraction: float, seed: int
) -> list[Record]:
    """Set ``split`` to dev for about ``fraction`` of the prompt groups in each stratum
    (source + label signature of the group's first record), train for the rest. A group is
    never divided, so no prompt crosses train/dev."""
    if not 0 <= fraction < 1:
        raise ValueError(f"dev fraction must be in [0, 1), got {fraction}")
    first_of_group: dict[str, Record] = {}
    for record, group in zip(records, groups, strict=True):
        first_of_group.setdefault(group, record)
    strata: dict[tuple, list[str]] = defaultdict(list)
    for group, record in first_of_group.items():
        source = source_family(record.source)
        strata[(source, _label_signature(record))].append(group)
    rng = random.Random(f"oneguard-dev:{seed}")
    dev_groups: set[str] = set()
    for key in sorted(strata, key=str):
        members = sorted(strata[key])
        rng.shuffle(members)
        # Stochastic rounding: small strata contribute to dev in proportion on average.
        expected = fraction * len(members)
        n_dev = math.floor(expected) + (rng.random() < expected - math.floor(expected))
        dev_groups.update(members[:n_dev])
    return [
        replace(record, split=DEV if group in dev_groups else TRAIN)
        for record, group in zip(records, groups, strict=True)
    ]


def build_mix(
    data_dir: str | Path,
    config: MixConfig | None = None,
    sources: Mapping[str, Source] | None = None,
    library: TemplateLibrary | None = None,
    progress: bool = True,
) -> MixResult:
    """Build the training mix from the ``moderation/`` folder ``data_dir``.

    ``sources`` defaults to every registered source; ``library`` to the template libraries
    under ``data_dir``. Raises :class:`MixError` when a folder is missing or nothing is left.
    """
    config = config or MixConfig()
    if config.cross_pairs < 0:
        raise MixError(f"cross pairs must be 0 or more, got {config.cross_pairs}")
    data_dir = Path(data_dir)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 2)
        clock = now

    sources = all_sources() if sources is None else sources
    train_sources, eval_sources = _select_sources(sources, config.exclude)
    if not train_sources:
        raise MixError("no train-role source is registered (or all are excluded)")
    _check_folders(data_dir, [*train_sources, *eval_sources])
    loaded, counts = _load_all([*train_sources, *eval_sources], data_dir, progress)
    lap("load")

    index = EvalIndex()
    for source in eval_sources:
        index.add(loaded[source.name], source.name)
    training = [r for s in train_sources for r in loaded[s.name]]
    training, report = drop_eval_overlap(training, index, strict=config.strict_eval_dedup)
    training, report = resolve_training_duplicates(training, report)
    lap("dedup")

    pairs: list[tuple[Record, Record]] = []
    library_counts: dict[str, int] = {}
    library_missing: tuple[str, ...] = ()
    if config.augment is not None:
        library = library if library is not None else load_template_library(data_dir)
        library_counts, library_missing = library.family_counts(), library.missing
        pairs = augment_pairs(training, library, config.augment, seed=config.seed)
        # A wrapped prompt could, in principle, equal an evaluation prompt; check anyway.
        kept_pairs = []
        for augmented, seed_record in pairs:
            overlap = index.overlap(augmented)
            if overlap is None:
                kept_pairs.append((augmented, seed_record))
            else:
                report.eval_prompt[augmented.source] += 1
                report.eval_hits[overlap.eval_source] += 1
        pairs = kept_pairs
    lap("augment")

    def cap_of(source: str) -> int | None:
        if source.startswith(AUGMENT_PREFIX):
            return None
        return config.source_caps.get(source, config.max_per_source)

    training, capped = cap_per_source(training, cap_of, config.seed)
    records = training + [augmented for augmented, _ in pairs]
    groups = [prompt_key(r) for r in training] + [prompt_key(seed) for _, seed in pairs]
    if not records:
        raise MixError("nothing left to train on after deduplication")
    records = split_dev(records, groups, config.dev_fraction, config.seed)
    if config.keep_split_from is not None:
        earlier = reference_splits(read_mix(config.keep_split_from), loaded)
        records = [
            replace(record, split=earlier.get(group, record.split))
            for record, group in zip(records, groups, strict=True)
        ]
    lap("balance+split")

    if config.cross_pairs > 0:
        crossed = cross_pairs(
            [r for r in records if r.split == TRAIN], config.cross_pairs, config.seed
        )
        for record in crossed:
            overlap = index.overlap(record)
            if overlap is None:
                records.append(record)
            else:
                report.eval_response[record.source] += 1
                report.eval_hits[overlap.eval_source] += 1
        lap("cross pairs")

    return MixResult(
        records=records,
        loaded=counts,
        report=report,
        capped=capped,
        train_sources=[s.name for s in train_sources],
        eval_sources=[s.name for s in eval_sources],
        library_counts=library_counts,
        library_missing=library_missing,
        timings=timings,
        config=config,
    )


def reference_splits(
    earlier: Iterable[Record], loaded: Mapping[str, Sequence[Record]]
) -> dict[str, str]:
    """Prompt group -> split in an earlier mix. An augmented row's group is its seed's prompt,
    found through the seed id its own id starts with (``<seed id>|aug<n>|<tactics>``) among
    the ``loaded`` records; a seed no longer loaded is skipped."""
    seeds = {(name, record.id): record for name, records in loaded.items() for record in records}
    splits: dict[str, str] = {}
    for record in earlier:
        group_of = record
        if record.source.startswith(AUGMENT_PREFIX):
            seed_id = record.id.split("|aug", 1)[0]
            seed = seeds.get((source_family(record.source), seed_id))
            if seed is None:
                continue
            group_of = seed
        splits[prompt_key(group_of)] = record.split
    return splits


# ---------------------------------------------------------------------------------------------
# Summary


def count_table(records: Iterable[Record]) -> list[dict[str, object]]:
    """Long-form counts: one row per (source, task, label, adversarial, split)."""
    counts: Counter[tuple[str, str, str, bool, str]] = Counter()
    for record in records:
        for task, field_name in TASK_FIELDS.items():
            label = getattr(record, field_name)
            if label != UNKNOWN:
                counts[(record.source, task, label, bool(record.adversarial), record.split)] += 1
    return [
        {"source": s, "task": t, "label": lab, "adversarial": a, "split": sp, "rows": n}
        for (s, t, lab, a, sp), n in sorted(counts.items())
    ]


#: Columns of the summary table after the source name.
def summary_columns() -> list[str]:
    columns = [f"{task}: {label}" for task, labels in TASK_LABELS.items() for label in labels]
    return [
        *columns,
        "rows",
        "dev",
        "adv",
        "dropped: eval",
        "stripped: eval",
        "dropped: dup/conflict",
        "capped",
    ]


def summary_rows(result: MixResult) -> list[list[str]]:
    """One row per source (then TOTAL): label counts per task as ``vanilla + adversarial``,
    rows, dev rows, adversarial rows and what deduplication and caps removed."""
    per_cell: Counter[tuple[str, str, str, bool]] = Counter()
    rows: Counter[str] = Counter()
    dev: Counter[str] = Counter()
    adversarial: Counter[str] = Counter()
    for record in result.records:
        rows[record.source] += 1
        dev[record.source] += record.split == DEV
        adversarial[record.source] += bool(record.adversarial)
        for task, field_name in TASK_FIELDS.items():
            label = getattr(record, field_name)
            if label != UNKNOWN:
                per_cell[(record.source, task, label, bool(record.adversarial))] += 1
    report = result.report
    names = sorted(
        set(rows)
        | set(result.train_sources)
        | {n for n in report.eval_prompt if n.startswith(AUGMENT_PREFIX)}
    )

    def cell(source: str | None, task: str, label: str) -> str:
        def count(adv: bool) -> int:
            if source is None:
                return sum(
                    n for (s, t, la, a), n in per_cell.items() if (t, la, a) == (task, label, adv)
                )
            return per_cell[(source, task, label, adv)]

        vanilla, adv = count(False), count(True)
        if not vanilla and not adv:
            return ""
        return f"{vanilla:,} + {adv:,}" if adv else f"{vanilla:,}"

    def line(source: str | None) -> list[str]:
        pick = (lambda c: sum(c.values())) if source is None else (lambda c: c[source])
        eval_dropped = pick(report.eval_prompt) + pick(report.eval_response)
        dup_dropped = pick(report.duplicate) + pick(report.conflict) + pick(report.unlabelled)
        return [
            "TOTAL" if source is None else source,
            *[
                cell(source, task, label)
                for task, labels in TASK_LABELS.items()
                for label in labels
            ],
            f"{pick(rows):,}",
            f"{pick(dev):,}",
            f"{pick(adversarial):,}",
            f"{eval_dropped:,}",
            f"{pick(report.eval_stripped):,}",
            f"{dup_dropped:,}",
            f"{pick(result.capped):,}",
        ]

    return [line(name) for name in names] + [line(None)]


def summary_markdown(result: MixResult) -> str:
    """The summary as markdown (kept in the model card)."""
    header = ["source", *summary_columns()]
    body = summary_rows(result)
    lines = [
        "Rows per source and label; a cell reads `vanilla + adversarial`. A row counts once "
        "per task it labels. `dropped: eval` = rows removed because their (prompt, response) "
        "pair or a long response is in an evaluation set, or their prompt is and no label "
        "was left; `stripped: eval` = rows kept although their prompt is in an evaluation "
        "set, without the labels judged there"
        + (" (strict mode: none kept)" if result.config.strict_eval_dedup else "")
        + "; `dropped: dup/conflict` = copies of a text kept elsewhere, rows whose labels "
        "were in true conflict and unlabelled rows; `capped` = removed by the per-source cap "
        f"({result.config.max_per_source:,}).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    for row in body:
        name = f"**{row[0]}**" if row[0] == "TOTAL" else row[0]
        lines.append("| " + " | ".join([name, *row[1:]]) + " |")
    hits = result.report.eval_hits
    if hits:
        lines += [
            "",
            "Training rows dropped or stripped per evaluation set they overlapped (the first "
            "set, in name order, holding the text):",
            "",
        ]
        lines += [f"- {name}: {n:,}" for name, n in sorted(hits.items(), key=lambda kv: -kv[1])]
    conflicts = result.report.conflicting_texts
    if any(conflicts.values()):
        lines += [
            "",
            "Texts whose label was a true conflict (same annotation rank, different labels; "
            "label set to unknown): "
            + ", ".join(f"{task} {n:,}" for task, n in sorted(conflicts.items()) if n),
        ]
    lines += [
        "",
        "Eval-only sources deduplicated against: " + ", ".join(result.eval_sources) + ".",
    ]
    if result.config.keep_split_from is not None:
        lines += [
            "",
            f"Dev split: prompts already in `{result.config.keep_split_from}` keep their side.",
        ]
    lines += [
        "",
        "Build time (s): " + ", ".join(f"{k} {v}" for k, v in result.timings.items()) + ".",
    ]
    return "\n".join(lines) + "\n"


def summary_dict(result: MixResult) -> dict[str, object]:
    """Machine-readable summary (written as JSON next to the Parquet)."""
    splits = Counter(r.split for r in result.records)
    return {
        "rows": len(result.records),
        "splits": dict(splits),
        "adversarial_rows": sum(bool(r.adversarial) for r in result.records),
        "config": {
            "seed": result.config.seed,
            "max_per_source": result.config.max_per_source,
            "source_caps": dict(result.config.source_caps),
            "dev_fraction": result.config.dev_fraction,
            "augment": None
            if result.config.augment is None
            else {
                "n_harmful": result.config.augment.n_harmful,
                "n_benign": result.config.augment.n_benign,
                "n_pairs": result.config.augment.n_pairs,
            },
            "exclude": list(result.config.exclude),
            "strict_eval_dedup": result.config.strict_eval_dedup,
            "keep_split_from": result.config.keep_split_from,
            "cross_pairs": result.config.cross_pairs,
        },
        "train_sources": result.train_sources,
        "eval_sources": result.eval_sources,
        "loaded": dict(sorted(result.loaded.items())),
        "dedup": result.report.to_dict(),
        "capped": dict(sorted(result.capped.items())),
        "template_library": result.library_counts,
        "template_library_missing": list(result.library_missing),
        "timings_s": result.timings,
        "counts": count_table(result.records),
    }


# ---------------------------------------------------------------------------------------------
# Files


def summary_paths(parquet_path: str | Path) -> tuple[Path, Path]:
    """Markdown and JSON summary paths beside the Parquet file."""
    path = Path(parquet_path)
    return path.with_suffix(".summary.md"), path.with_suffix(".summary.json")


def write_mix(result: MixResult, out_path: str | Path) -> list[Path]:
    """Write the Parquet file and its summaries; returns the paths written."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = {f.name: [getattr(r, f.name) for r in result.records] for f in fields(Record)}
    table = pa.Table.from_pydict(columns, schema=_PARQUET_SCHEMA)
    pq.write_table(table, out, compression="zstd", compression_level=9)
    markdown, summary = summary_paths(out)
    markdown.write_text(summary_markdown(result), encoding="utf-8")
    summary.write_text(json.dumps(summary_dict(result), indent=1) + "\n", encoding="utf-8")
    return [out, markdown, summary]


def rebuild_options(path: str | Path) -> dict[str, Any]:
    """How to rebuild the mix at ``path`` with today's registry, read from its summary:
    ``keep_split_from`` (the earlier mix whose dev split it kept, or None), ``exclude``
    (sources it was built without: those excluded then, and those registered since) and
    ``augment_pairs`` (its prompt+response variants; 0 for mixes built before they existed)
    and ``cross_pairs`` (0 likewise),
    so a model card can give the exact command. Empty when the summary is missing or
    unreadable."""
    summary = summary_paths(path)[1]
    if not summary.is_file():
        return {}
    try:
        content = json.loads(summary.read_text(encoding="utf-8"))
        config = content.get("config", {})
        used = set(content.get("train_sources", [])) | set(content.get("eval_sources", []))
    except (json.JSONDecodeError, AttributeError, TypeError):
        return {}
    keep = config.get("keep_split_from")
    augment = config.get("augment") or {}
    excluded = set(config.get("exclude") or ())
    if used:  # sources registered after the mix was built were not in it
        excluded |= {
            name for name, s in all_sources().items() if s.role != "templates" and name not in used
        }
    return {
        "keep_split_from": keep if isinstance(keep, str) else None,
        "exclude": sorted(excluded),
        "augment_pairs": int(augment.get("n_pairs", 0)),
        "cross_pairs": int(config.get("cross_pairs", 0)),
    }


def read_mix(path: str | Path) -> list[Record]:
    """Records of a mix written by :func:`write_mix` (validated again on the way in)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"training mix {path} not found (build it with `oneguard data build`)"
        )
    table = pq.read_table(path)
    missing = [f.name for f in fields(Record) if f.name not in table.column_names]
    if missing:
        raise ValueError(f"{path}: not a training mix, missing column(s) {', '.join(missing)}")
    return [Record(**row) for row in table.select([f.name for f in fields(Record)]).to_pylist()]
