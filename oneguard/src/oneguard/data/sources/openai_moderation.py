"""OpenAI moderation evaluation set (Markov et al. 2022): 1,680 texts with 8 binary codes.

Label mapping: a text is harmful when any present code is 1, unharmful only when all 8 codes
are present and 0; a missing code means "not labelled" (per the release README), so a text
with no positive code but a missing one stays unknown. (GuardReasoner's copy of this benchmark
counts such texts as unharmful; evaluation uses that copy.) The positive codes map through
:data:`oneguard.taxonomy.OPENAI_MODERATION_CODES`; conflicting codes give ``unknown``.
Eval only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, category, field, read_jsonl
from oneguard.schema import HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import OPENAI_MODERATION_CODES, UNKNOWN, combine_categories, subcategory_for

CODES = tuple(OPENAI_MODERATION_CODES)


@register_source(
    "openai_moderation",
    folder="openai_moderation",
    tasks=("prompt", "category"),
    role="eval",
    description="OpenAI moderation eval (1,680 texts, 8 categories, some codes missing)",
)
def load_samples(folder: Path) -> Iterator[Record]:
    path = folder / "samples-1680.jsonl"
    for line_no, item in read_jsonl(path):
        where = f"{path}:{line_no}"
        prompt = field(item, "prompt", where)
        values = {code: item[code] for code in CODES if code in item}
        unexpected = set(item) - set(CODES) - {"prompt"}
        if unexpected:
            raise SourceFormatError(f"{where}: unknown field(s) {sorted(unexpected)}")
        for code, value in values.items():
            if value not in (0, 1):
                raise SourceFormatError(f"{where}: field {code!r} should be 0 or 1, got {value!r}")
        positives = [code for code, value in values.items() if value == 1]
        if positives:
            label = HARMFUL
        elif len(values) == len(CODES):
            label = UNHARMFUL
        else:
            label = UNKNOWN
        key = combine_categories(category("openai_moderation_codes", c, where) for c in positives)
        yield Record(
            prompt=prompt,
            source="openai_moderation",
            split="samples-1680",
            prompt_harm_label=label,
            subcategory=subcategory_for(label, key),
            annotation="human",
            id=str(line_no),
        )
