"""DICES-990 and DICES-350 (Aroyo et al., via JUDGE-BENCH): adversarial human–bot
conversations ending in a bot reply, rated for safety by 69–123 raters each.

Label semantics: the ratings answer DICES' ``Q_overall`` ("is the conversation unsafe?"), so
``Yes`` = unsafe -> response harmful, ``No`` -> unharmful, ``Unsure`` -> unknown. (JUDGE-BENCH's
own prompt asks "is the response safe?", the opposite wording; it is not followed.) DICES-350
comes with the crowd majority and, separately, one expert's gold label for the same items.

Turns are parsed from ``user_prompt`` (``A:``/``B:`` in DICES-990, where line breaks are
stored as a literal backslash-n; ``USER:``/``LAMDA:`` in DICES-350): the last user turn is the
prompt, earlier turns go to ``context``. Prompt harm and refusal are not rated. Eval-only
(a benchmark without a train split).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, choice, expect_list, field, read_json
from oneguard.schema import HARMFUL, UNHARMFUL, Record, context_text
from oneguard.taxonomy import UNKNOWN

SAFETY = {"Yes": HARMFUL, "No": UNHARMFUL, "Unsure": UNKNOWN}
_SPEAKER = re.compile(r"^(A|B|USER|LAMDA):\s?")
_ROLES = {"A": "user", "USER": "user", "B": "assistant", "LAMDA": "assistant"}


def parse_conversation(text: str, where: str) -> list[tuple[str, str]]:
    """``[(role, text)]`` turns of a DICES context; unprefixed lines continue the last turn."""
    if "\n" not in text:
        text = text.replace("\\n", "\n")
    turns: list[tuple[str, str]] = []
    for line in text.split("\n"):
        speaker = _SPEAKER.match(line)
        if speaker:
            turns.append((_ROLES[speaker[1]], line[speaker.end() :]))
        elif turns and line.strip():
            role, previous = turns[-1]
            turns[-1] = (role, f"{previous}\n{line}")
        elif line.strip():
            raise SourceFormatError(f"{where}: conversation does not start with a speaker tag")
    if not turns or turns[-1][0] != "user":
        raise SourceFormatError(f"{where}: conversation does not end with a user turn")
    return turns


def _load(path: Path, source: str, split: str) -> Iterator[Record]:
    instances = expect_list(field(read_json(path), "instances", str(path), list), str(path))
    for position, item in enumerate(instances):
        where = f"{path}: instances[{position}]"
        instance = field(item, "instance", where, dict)
        turns = parse_conversation(field(instance, "user_prompt", where), where)
        safety = field(field(item, "annotations", where, dict), "safety", where, dict)
        label = choice(field(safety, "majority_human", where), SAFETY, where, "majority_human")
        context = context_text(turns[:-1])  # drops empty turns ("A: " with nothing said)
        yield Record(
            prompt=turns[-1][1],
            response=field(instance, "response", where),
            context=context,
            source=source,
            split=split,
            response_harm_label=label,
            annotation="human",
            id=str(field(item, "id", where, int)),
        )


@register_source(
    "dices_990",
    folder="dices",
    tasks=("response",),
    role="eval",
    description="DICES-990: 990 conversations, crowd majority safety (Yes = unsafe)",
)
def load_990(folder: Path) -> Iterator[Record]:
    return _load(folder / "dices_990.json", "dices_990", "990")


@register_source(
    "dices_350",
    folder="dices",
    tasks=("response",),
    role="eval",
    description="DICES-350: 350 conversations, crowd majority safety (123 raters)",
)
def load_350(folder: Path) -> Iterator[Record]:
    return _load(folder / "dices_350_crowdsourced.json", "dices_350", "350_crowdsourced")


@register_source(
    "dices_350_expert",
    folder="dices",
    tasks=("response",),
    role="eval",
    description="DICES-350 with the expert gold safety label",
)
def load_350_expert(folder: Path) -> Iterator[Record]:
    return _load(folder / "dices_350_expert.json", "dices_350_expert", "350_expert")
