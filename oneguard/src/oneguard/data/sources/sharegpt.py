"""ShareGPT user turns (via the ML.ENERGY leaderboard workloads): real ChatGPT user messages
from early 2023, one per item, in three files.

Unlabelled: the manifest allows them as benign negatives after screening, so prompts are
unharmful with ``annotation="implied"`` (a small share may be harmful or jailbreaks; the mix
builder screens or down-weights implied labels). Only ``human`` turns are user prompts: the
16 ``system`` banners ("This conversation is shared from …"), 4 ``gpt`` turns and 1 empty turn
of the sg_90k file are skipped. Train.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, expect_list, field, read_json
from oneguard.schema import UNHARMFUL, Record
from oneguard.taxonomy import BENIGN

FILES = (
    "sg_90k_part1_html_cleaned_lang_first_sampled_sorted",
    "ShareGPT_V3_filtered_1000",
    "ShareGPT_V3_filtered_500",
)


@register_source(
    "sharegpt",
    folder="sharegpt_user_turns",
    tasks=("prompt",),
    role="train",
    description="ShareGPT user turns (2,978 + 1,000 + 500), unlabelled benign pool",
)
def load_user_turns(folder: Path) -> Iterator[Record]:
    for name in FILES:
        path = folder / f"{name}.json"
        for position, item in enumerate(expect_list(read_json(path), str(path))):
            where = f"{path}: item {position}"
            conversations = field(item, "conversations", where, list)
            if len(conversations) != 1:
                raise SourceFormatError(f"{where}: expected exactly one turn")
            turn = conversations[0]
            text = field(turn, "value", where)
            if field(turn, "from", where) != "human" or not text.strip():
                continue
            yield Record(
                prompt=text,
                source="sharegpt",
                split=name,
                prompt_harm_label=UNHARMFUL,
                subcategory=BENIGN,
                annotation="implied",
                id=f"{name}:{field(item, 'id', where)}",
            )
