"""OpenAssistant manual-evaluation prompts: 100 + 250 English prompts written by
OpenAssistant users and volunteers, one JSON string per line.

Unlabelled benign pool -> unharmful, ``annotation="implied"``. Train; 21 of them also occur in
ToxicChat test (drop them if ToxicChat is reported).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, read_jsonl
from oneguard.schema import UNHARMFUL, Record
from oneguard.taxonomy import BENIGN

FILES = ("en_100_text", "prompt_lottery_en_250_text")


@register_source(
    "oasst_prompts",
    folder="oasst_manual_eval_prompts",
    tasks=("prompt",),
    role="train",
    description="OpenAssistant manual-eval prompts (100 + 250), unlabelled benign pool",
)
def load_prompts(folder: Path) -> Iterator[Record]:
    for name in FILES:
        path = folder / f"{name}.jsonl"
        for line_no, prompt in read_jsonl(path):
            if not isinstance(prompt, str):
                raise SourceFormatError(f"{path}:{line_no}: expected a JSON string")
            yield Record(
                prompt=prompt,
                source="oasst_prompts",
                split=name,
                prompt_harm_label=UNHARMFUL,
                subcategory=BENIGN,
                annotation="implied",
                id=f"{name}:{line_no}",
            )
