"""Anthropic hh-rlhf harmless-base test split: 2,312 (chosen, rejected) transcript pairs.

The data is a preference: the rejected final answer was judged less harmless than the chosen
one, with no absolute label, so no WildGuard label can be read off it and every label stays
unknown. Each pair yields two records, ``<n>:chosen`` and ``<n>:rejected``, with the final
human turn as ``prompt``, the final assistant turn as ``response`` and the earlier turns in
``context``; the shared id prefix keeps the pair. Auxiliary (train role, no labelled task).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, field, read_jsonl
from oneguard.schema import Record

_TURN = re.compile(r"\n\n(Human|Assistant): ")
_ROLES = {"Human": "user", "Assistant": "assistant"}


def parse_transcript(text: str, where: str) -> list[tuple[str, str]]:
    """``[(role, text)]`` of a ``"\\n\\nHuman: …\\n\\nAssistant: …"`` transcript."""
    parts = _TURN.split(text)
    if parts[0].strip() or len(parts) < 3:
        raise SourceFormatError(f"{where}: not a '\\n\\nHuman: … \\n\\nAssistant: …' transcript")
    return [(_ROLES[parts[i]], parts[i + 1]) for i in range(1, len(parts), 2)]


def _record(turns: list[tuple[str, str]], record_id: str) -> Record | None:
    """The record of a transcript, or ``None`` when it does not end with a non-empty human
    turn and an assistant turn (a few transcripts lost the ``\n\n`` before an inline
    "Human:", which leaves two assistant turns at the end)."""
    if len(turns) < 2 or turns[-1][0] != "assistant" or turns[-2][0] != "user":
        return None
    prompt, response = turns[-2][1], turns[-1][1]
    if not prompt.strip():
        return None
    context = "\n".join(f"{role}: {text}" for role, text in turns[:-2]) or None
    return Record(
        prompt=prompt,
        response=response,
        context=context,
        source="hh_rlhf_harmless_test",
        split="harmless-base/test",
        annotation="human",
        id=record_id,
    )


@register_source(
    "hh_rlhf_harmless_test",
    folder="hh_rlhf_harmless_base",
    tasks=(),
    role="train",
    description="hh-rlhf harmless-base test: 2,312 preference pairs, no absolute labels",
)
def load_pairs(folder: Path) -> Iterator[Record]:
    path = folder / "test.jsonl"
    for line_no, item in read_jsonl(path):
        for side in ("chosen", "rejected"):
            where = f"{path}:{line_no}: {side}"
            turns = parse_transcript(field(item, side, where), where)
            record = _record(turns, f"{line_no}:{side}")
            if record is not None:
                yield record
