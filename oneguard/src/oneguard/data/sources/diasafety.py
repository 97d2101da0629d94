"""DiaSafety (Sun et al. 2022): context–response pairs of older dialogue models, labelled for
context-sensitive unsafety of the response.

``label`` Safe -> response unharmful, Unsafe -> harmful. ``category`` names the kind of
unsafety the pair was collected for; for unsafe responses it maps through
:data:`oneguard.taxonomy.DIASAFETY_CATEGORIES`, for safe ones the subcategory stays unknown
(the context's own harm is not labelled, so ``benign`` would be a guess). Prompt harm and
refusal are not labelled. Rows with an empty response (2 in train, 1 in test) are skipped.

Roles: train + val train (``diasafety_train``), test is eval-only (``diasafety_test``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import category, choice, expect_list, field, read_json
from oneguard.schema import HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import UNKNOWN

LABELS = {"Safe": UNHARMFUL, "Unsafe": HARMFUL}


def _load(folder: Path, split: str, source: str) -> Iterator[Record]:
    path = folder / f"{split}.json"
    for position, item in enumerate(expect_list(read_json(path), str(path))):
        where = f"{path}: item {position}"
        response = field(item, "response", where)
        if not response.strip():
            continue
        label = choice(field(item, "label", where), LABELS, where, "label")
        key = category("diasafety_categories", field(item, "category", where), where)
        yield Record(
            prompt=field(item, "context", where),
            response=response,
            source=source,
            split=split,
            response_harm_label=label,
            subcategory=key if label == HARMFUL else UNKNOWN,
            annotation="human",
            id=f"{split}:{position}",
        )


@register_source(
    "diasafety_train",
    folder="diasafety",
    tasks=("response", "category"),
    role="train",
    description="DiaSafety train (9,017) + val (1,097) context–response safety pairs",
)
def load_train(folder: Path) -> Iterator[Record]:
    yield from _load(folder, "train", "diasafety_train")
    yield from _load(folder, "val", "diasafety_train")


@register_source(
    "diasafety_test",
    folder="diasafety",
    tasks=("response", "category"),
    role="eval",
    description="DiaSafety test (1,095 pairs), eval-only",
)
def load_test(folder: Path) -> Iterator[Record]:
    return _load(folder, "test", "diasafety_test")
