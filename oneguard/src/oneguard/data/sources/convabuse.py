"""ConvAbuse (Cercas Curry et al., EMNLP 2021): user turns to two deployed chatbots
(CarbonBot, E.L.I.Z.A.), with the previous exchange, labelled for abuse by ~3 annotators.

Label mapping (human):

* Each annotator marks one severity: ``is_abuse.1`` not abusive, ``0`` ambiguous, ``-1``/``-2``/
  ``-3`` mildly/strongly/very strongly abusive. An annotator votes *abusive* for -1…-3 and
  *not abusive* for 1 or 0, as in the paper's binary task. Some cells hold repeat annotations
  by the same annotator ("1, 1"); the annotator's vote is then the majority of their repeats
  (a tie abstains).
* The user turn is harmful when abusive votes outnumber the others, unharmful when they are
  outnumbered, unknown on a tie.
* Abuse types flagged by annotators map through :data:`oneguard.taxonomy.CONVABUSE_TYPES`
  (abuse with no type flagged is abusive language, ``untyped``).

The prompt is the user turn; ``prev_agent``, ``prev_user`` and ``agent`` form the context.
Columns are read by position: the CSV header repeats ``Annotator6_transphobic`` for annotators
7 and 8. Roles: train + valid train (``convabuse_train``), test eval-only (``convabuse_test``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, category, read_csv_rows
from oneguard.schema import HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import UNKNOWN, combine_categories, subcategory_for

CONTEXT_COLUMNS = ("example_id", "conv_id", "prev_agent", "prev_user", "agent", "user", "bot")
SEVERITIES = ("1", "0", "-1", "-2", "-3")
ABUSIVE = frozenset({"-1", "-2", "-3"})
TYPES = (
    "ableist",
    "homophobic",
    "intellectual",
    "racist",
    "sexist",
    "sex_harassment",
    "transphobic",
)
BLOCK = len(SEVERITIES) + len(TYPES) + 5  # + 3 target and 2 directness columns
ANNOTATORS = 8


def _check_header(header: list[str], path: Path) -> None:
    if tuple(header[: len(CONTEXT_COLUMNS)]) != CONTEXT_COLUMNS:
        raise SourceFormatError(f"{path}: header should start with {', '.join(CONTEXT_COLUMNS)}")
    for k in range(ANNOTATORS):
        start = len(CONTEXT_COLUMNS) + k * BLOCK
        expected = [f"Annotator{k + 1}_is_abuse.{s}" for s in SEVERITIES]
        expected += [f"Annotator{k + 1}_{t}" for t in TYPES[:-1]]
        if header[start : start + len(expected)] != expected:
            raise SourceFormatError(
                f"{path}: columns {start}–{start + len(expected) - 1} should be annotator "
                f"{k + 1}'s severity and type columns"
            )


def _repeats(cell: str, where: str) -> list[bool]:
    """Values of one annotation cell: ``""`` (not annotated), ``"1"`` or repeats ``"1, 0"``."""
    if not cell.strip():
        return []
    values = [part.strip() for part in cell.split(",")]
    if any(value not in ("0", "1") for value in values):
        raise SourceFormatError(f"{where}: annotation cell {cell!r} is not 0/1 values")
    return [value == "1" for value in values]


def _annotator_vote(cells: list[str], where: str) -> tuple[bool | None, set[str]]:
    """(abusive?, flagged types) of one annotator; ``None`` if they did not vote."""
    severity = [_repeats(cell, where) for cell in cells[: len(SEVERITIES)]]
    repeats = max((len(values) for values in severity), default=0)
    if repeats == 0:
        return None, set()
    abusive = not_abusive = 0
    for j in range(repeats):
        chosen = [
            s
            for s, values in zip(SEVERITIES, severity, strict=True)
            if j < len(values) and values[j]
        ]
        if len(chosen) != 1:
            raise SourceFormatError(f"{where}: annotation {j + 1} marks {len(chosen)} severities")
        if chosen[0] in ABUSIVE:
            abusive += 1
        else:
            not_abusive += 1
    vote = None if abusive == not_abusive else abusive > not_abusive
    type_cells = cells[len(SEVERITIES) : len(SEVERITIES) + len(TYPES)]
    flagged = {t for t, cell in zip(TYPES, type_cells, strict=True) if any(_repeats(cell, where))}
    return vote, flagged


def _load(folder: Path, split: str, source: str) -> Iterator[Record]:
    path = folder / f"ConvAbuseEMNLP{split}.csv"
    header, rows = read_csv_rows(path)
    _check_header(header, path)
    width = len(CONTEXT_COLUMNS) + ANNOTATORS * BLOCK
    for row_no, row in enumerate(rows, start=1):
        where = f"{path}:row {row_no}"
        if len(row) != width:
            raise SourceFormatError(f"{where}: {len(row)} columns, expected {width}")
        context_fields = dict(zip(CONTEXT_COLUMNS, row, strict=False))
        abusive = not_abusive = 0
        types: set[str] = set()
        for k in range(ANNOTATORS):
            start = len(CONTEXT_COLUMNS) + k * BLOCK
            vote, flagged = _annotator_vote(row[start : start + BLOCK], where)
            if vote is True:
                abusive += 1
                types |= flagged
            elif vote is False:
                not_abusive += 1
        if abusive + not_abusive == 0:
            raise SourceFormatError(f"{where}: no annotator labelled this row")
        label = (
            HARMFUL if abusive > not_abusive else UNHARMFUL if not_abusive > abusive else UNKNOWN
        )
        keys = [category("convabuse_types", t, where) for t in sorted(types) or ["untyped"]]
        turns = [
            ("assistant", context_fields["prev_agent"]),
            ("user", context_fields["prev_user"]),
            ("assistant", context_fields["agent"]),
        ]
        context = "\n".join(f"{role}: {text}" for role, text in turns if text.strip()) or None
        user = context_fields["user"]
        if not user.strip():
            continue
        yield Record(
            prompt=user,
            context=context,
            source=source,
            split=split,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, combine_categories(keys)),
            annotation="human",
            id=f"{split}:{context_fields['example_id']}",
        )


@register_source(
    "convabuse_train",
    folder="convabuse",
    tasks=("prompt", "category"),
    role="train",
    description="ConvAbuse train (2,501) + valid (831) user turns to chatbots, abuse labels",
)
def load_train(folder: Path) -> Iterator[Record]:
    yield from _load(folder, "train", "convabuse_train")
    yield from _load(folder, "valid", "convabuse_train")


@register_source(
    "convabuse_test",
    folder="convabuse",
    tasks=("prompt", "category"),
    role="eval",
    description="ConvAbuse test (853 user turns), eval-only",
)
def load_test(folder: Path) -> Iterator[Record]:
    return _load(folder, "test", "convabuse_test")
