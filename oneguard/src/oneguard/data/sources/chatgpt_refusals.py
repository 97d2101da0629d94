"""Hand-labelled ChatGPT refusals (Reuter & Schulze 2023): 1,721 gpt-3.5-turbo responses to
Quora questions (1,000), prompts about political figures (700) and New York Post prompts (21).

Refusal labels are human (one annotator), from ``tone``:

* ``complied`` -> compliance.
* ``rejected``, ``redirected`` (declines the request as asked, offers something else),
  ``contradicted`` (pushes back on the premise instead of answering), ``disclaimed`` ("As an
  AI I cannot give an opinion. However, …") and ``counseling`` (declines, then counsels) ->
  refusal. These are refusals or partial refusals, and a partial refusal counts as a refusal
  (XSTest/WildGuard convention); the authors binarise the same way (every tone other than
  complied is a refusal).
* ``dontknow`` and ``incoherent`` -> unknown (the authors drop them too).

Prompt harm is weak: the Quora rows carry Quora's ``is_insincere`` (joined by prompt from
``quora_insincere_hand_labeled.json``). A sincere question is an ordinary question ->
unharmful; "insincere" (loaded, rhetorical, false-premise or disparaging) is mostly not
harmful in WildGuard's sense, so it stays unknown, as do the political and NY Post prompts.

Response harm is implied (:func:`oneguard.schema.implied_response_harm`): an answer to a
sincere Quora question, and a flat refusal (``rejected``), are unharmful; the other responses
stay unknown. A record with an implied label is ``annotation="rule"``. Train.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import choice, expect_list, field, read_json
from oneguard.schema import COMPLIANCE, REFUSAL, UNHARMFUL, Record, implied_response_harm
from oneguard.taxonomy import UNKNOWN, subcategory_for

TONES = {
    "complied": COMPLIANCE,
    "rejected": REFUSAL,
    "redirected": REFUSAL,
    "contradicted": REFUSAL,
    "disclaimed": REFUSAL,
    "counseling": REFUSAL,
    "dontknow": UNKNOWN,
    "incoherent": UNKNOWN,
}
INSINCERE = {0: UNHARMFUL, 1: UNKNOWN}


def _quora_labels(folder: Path) -> dict[str, str]:
    path = folder / "quora_insincere_hand_labeled.json"
    labels: dict[str, str] = {}
    for position, item in enumerate(expect_list(read_json(path), str(path))):
        where = f"{path}: item {position}"
        flag = field(item, "is_insincere", where, int)
        labels[field(item, "prompt", where)] = choice(flag, INSINCERE, where, "is_insincere")
    return labels


@register_source(
    "chatgpt_refusals",
    folder="chatgpt_refusals",
    tasks=("refusal", "prompt", "response"),
    role="train",
    description="1,721 ChatGPT responses with human refusal labels; Quora sincerity for prompts",
)
def load_hand_labeled(folder: Path) -> Iterator[Record]:
    quora = _quora_labels(folder)
    path = folder / "all_hand_labeled.json"
    for position, item in enumerate(expect_list(read_json(path), str(path))):
        where = f"{path}: item {position}"
        prompt = field(item, "prompt", where)
        label = quora.get(prompt, UNKNOWN)
        tone = field(item, "tone", where)
        refusal = choice(tone, TONES, where, "tone")
        response_harm = implied_response_harm(label, full_refusal=tone == "rejected")
        yield Record(
            prompt=prompt,
            response=field(item, "response", where),
            source="chatgpt_refusals",
            split="quora" if prompt in quora else "political_nypost",
            prompt_harm_label=label,
            response_harm_label=response_harm,
            response_refusal_label=refusal,
            subcategory=subcategory_for(label, UNKNOWN),
            annotation="human" if response_harm == UNKNOWN else "rule",
            id=str(position),
        )
