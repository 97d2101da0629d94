"""wizard101 derived sets: third-party conversions of ToxicChat test, BeaverTails 30k_test
prompts, a GuardReasonerTrain sample, JBB-Behaviors, benign Alpaca and a WildGuardMix sample.

Label mapping (``harmful``/``safe`` -> harmful/unharmful unless said otherwise):

* ``toxicchat_test.json``: ToxicChat test toxicity label (human). No jailbreaking flag, so
  ``adversarial`` is unknown. Eval.
* ``beavertails_30k.json``: the label is BeaverTails' *QA-pair* label and the response is not
  in the file, so prompt harm stays unknown; the 14 harm flags of harmful pairs map through
  :data:`oneguard.taxonomy.BEAVERTAILS_CATEGORIES` (several flags resolve with
  :func:`oneguard.taxonomy.combine_categories`). Eval (same rows as GuardReasoner's
  ``beaver_tails``).
* ``guardreasoner_test_5k.json``: despite its name a GuardReasonerTrain sample -> train. Rows
  from WildGuardTrain carry GPT-4 labels (``annotation="model"``); BeaverTails, Aegis and
  ToxicChat train rows carry human labels.
* ``guardreasoner_sample_3task_data.json``: 5 GuardReasonerTrain rows in GuardReasoner's SFT
  format; the request label is read from ``Answers: Request: …``; the responses are ``None``.
* ``jailbreakbench.json``: JBB-Behaviors 100 harmful + 100 benign goals. Eval.
* ``harmless_alpaca.json``: 400 benign Alpaca instructions (unlabelled pool ->
  ``annotation="implied"``). Eval, as the manifest assigns (it is a subset of the
  refusal_direction Alpaca pool, which trains).
* ``wildguardmix_sample.json``: 10 rows already in WildGuardMix's schema, copied as is. Eval.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import (
    SourceFormatError,
    category,
    choice,
    expect_list,
    field,
    read_json,
)
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, Record
from oneguard.taxonomy import SUBCATEGORY_VALUES, UNKNOWN, combine_categories, subcategory_for

LABELS = {"harmful": HARMFUL, "safe": UNHARMFUL}
GUARDREASONER_TRAIN_ANNOTATION = {
    "WildGuardTrainR": "model",
    "BeaverTailsTrainR": "human",
    "AegisTrainR": "human",
    "ToxicChatTrainR": "human",
}


def _items(path: Path) -> list[object]:
    return expect_list(read_json(path), str(path))


@register_source(
    "wizard101_toxicchat_test",
    folder="wizard101_derived",
    tasks=("prompt",),
    role="eval",
    description="ToxicChat test (5,083; 362 toxic), human toxicity labels",
)
def load_toxicchat_test(folder: Path) -> Iterator[Record]:
    path = folder / "toxicchat_test.json"
    for position, item in enumerate(_items(path)):
        where = f"{path}: item {position}"
        label = choice(field(item, "label", where), LABELS, where, "label")
        yield Record(
            prompt=field(item, "text", where),
            source="wizard101_toxicchat_test",
            split="test",
            prompt_harm_label=label,
            subcategory=subcategory_for(label, UNKNOWN),
            annotation="human",
            id=str(position),
        )


def _beavertails_flags(raw: str, where: str) -> dict[str, bool]:
    # The flags are stored as the repr of a Python dict ("{'animal_abuse': False, ...}").
    try:
        flags = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        raise SourceFormatError(f"{where}: field 'category' is not a dict of flags") from None
    if not isinstance(flags, dict) or not all(isinstance(v, bool) for v in flags.values()):
        raise SourceFormatError(f"{where}: field 'category' is not a dict of boolean flags")
    return flags


@register_source(
    "wizard101_beavertails_test",
    folder="wizard101_derived",
    tasks=("category",),
    role="eval",
    description="BeaverTails 30k_test prompts (3,021) with QA-pair harm flags; no responses",
)
def load_beavertails_test(folder: Path) -> Iterator[Record]:
    path = folder / "beavertails_30k.json"
    for position, item in enumerate(_items(path)):
        where = f"{path}: item {position}"
        pair_label = choice(field(item, "label", where), LABELS, where, "label")
        flags = _beavertails_flags(field(item, "category", where), where)
        keys = [category("beavertails_categories", flag, where) for flag, on in flags.items() if on]
        yield Record(
            prompt=field(item, "text", where),
            source="wizard101_beavertails_test",
            split="30k_test",
            subcategory=combine_categories(keys) if pair_label == HARMFUL else UNKNOWN,
            annotation="human",
            id=str(position),
        )


@register_source(
    "wizard101_guardreasoner_train",
    folder="wizard101_derived",
    tasks=("prompt",),
    role="train",
    description="GuardReasonerTrain sample (5,000 balanced prompts; WildGuardTrain, BeaverTails, "
    "Aegis, ToxicChat train parts)",
)
def load_guardreasoner_train(folder: Path) -> Iterator[Record]:
    path = folder / "guardreasoner_test_5k.json"
    for position, item in enumerate(_items(path)):
        where = f"{path}: item {position}"
        label = choice(field(item, "label", where), LABELS, where, "label")
        origin = field(item, "source", where)
        yield Record(
            prompt=field(item, "prompt", where),
            source="wizard101_guardreasoner_train",
            split=origin,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, UNKNOWN),
            annotation=choice(origin, GUARDREASONER_TRAIN_ANNOTATION, where, "source"),
            id=str(position),
        )


_GR_INPUT = re.compile(
    r"\AHuman user:\n(?P<prompt>.*?)\n\nAI assistant:\n(?P<response>.*?)\n*\Z", re.S
)
_GR_REQUEST = re.compile(r"Answers:\s*\nRequest:\s*(harmful|unharmful)\b")


@register_source(
    "wizard101_guardreasoner_3task",
    folder="wizard101_derived",
    tasks=("prompt",),
    role="train",
    description="5 GuardReasonerTrain rows in GuardReasoner's 3-task SFT format (prompt labels)",
)
def load_guardreasoner_3task(folder: Path) -> Iterator[Record]:
    path = folder / "guardreasoner_sample_3task_data.json"
    for position, item in enumerate(_items(path)):
        where = f"{path}: item {position}"
        parsed = _GR_INPUT.match(field(item, "input", where))
        request = _GR_REQUEST.search(field(item, "output", where))
        if parsed is None or request is None:
            raise SourceFormatError(
                f"{where}: 'input' is not 'Human user: … AI assistant: …' or 'output' has no "
                "'Answers: Request: harmful|unharmful'"
            )
        response = parsed["response"].strip()
        if response != "None":
            raise SourceFormatError(f"{where}: expected the response 'None', got text")
        label = request[1]
        yield Record(
            prompt=parsed["prompt"],
            source="wizard101_guardreasoner_3task",
            split="GuardReasonerTrain",
            prompt_harm_label=label,
            subcategory=subcategory_for(label, UNKNOWN),
            annotation="model",
            id=str(position),
        )


@register_source(
    "wizard101_jbb_behaviors",
    folder="wizard101_derived",
    tasks=("prompt",),
    role="eval",
    description="JBB-Behaviors goals: 100 harmful + 100 benign",
)
def load_jbb_behaviors(folder: Path) -> Iterator[Record]:
    path = folder / "jailbreakbench.json"
    for position, item in enumerate(_items(path)):
        where = f"{path}: item {position}"
        label = choice(field(item, "label", where), LABELS, where, "label")
        yield Record(
            prompt=field(item, "text", where),
            source="wizard101_jbb_behaviors",
            split="behaviors",
            adversarial=False,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, UNKNOWN),
            annotation="human",
            id=str(position),
        )


@register_source(
    "wizard101_harmless_alpaca",
    folder="wizard101_derived",
    tasks=("prompt",),
    role="eval",
    description="400 benign Alpaca instructions (unlabelled, implied benign)",
)
def load_harmless_alpaca(folder: Path) -> Iterator[Record]:
    path = folder / "harmless_alpaca.json"
    prompts = expect_list(field(read_json(path), "prompts", str(path), list), str(path))
    for position, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise SourceFormatError(f"{path}: prompts[{position}] should be a string")
        yield Record(
            prompt=prompt,
            source="wizard101_harmless_alpaca",
            split="alpaca",
            adversarial=False,
            prompt_harm_label=UNHARMFUL,
            subcategory="benign",
            annotation="implied",
            id=str(position),
        )


_HARM = {"harmful": HARMFUL, "unharmful": UNHARMFUL}
_REFUSAL = {"refusal": REFUSAL, "compliance": COMPLIANCE}


@register_source(
    "wizard101_wildguardmix_sample",
    folder="wizard101_derived",
    tasks=("prompt", "response", "refusal", "adversarial", "category"),
    role="eval",
    description="10 WildGuardMix rows in their own schema (schema reference)",
)
def load_wildguardmix_sample(folder: Path) -> Iterator[Record]:
    path = folder / "wildguardmix_sample.json"
    for position, item in enumerate(_items(path)):
        where = f"{path}: item {position}"
        subcategory = field(item, "subcategory", where)
        if subcategory not in SUBCATEGORY_VALUES:
            raise SourceFormatError(f"{where}: field 'subcategory' = {subcategory!r} is unknown")
        yield Record(
            prompt=field(item, "prompt", where),
            response=field(item, "response", where),
            source="wizard101_wildguardmix_sample",
            split="wildguardmix",
            adversarial=field(item, "adversarial", where, bool),
            prompt_harm_label=choice(
                field(item, "prompt_harm_label", where), _HARM, where, "prompt_harm_label"
            ),
            response_harm_label=choice(
                field(item, "response_harm_label", where), _HARM, where, "response_harm_label"
            ),
            response_refusal_label=choice(
                field(item, "response_refusal_label", where),
                _REFUSAL,
                where,
                "response_refusal_label",
            ),
            subcategory=subcategory,
            annotation="human",
            id=str(position),
        )
