"""Types that cross module boundaries: data records, classifier inputs and results.

One place for label values and input validation, so the loaders, the model, every backend,
the CLI and the server agree on what an item and a result look like.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from oneguard.taxonomy import SUBCATEGORY_VALUES, UNKNOWN

# ---------------------------------------------------------------------------------------------
# Label values (the strings WildGuard uses)
HARMFUL = "harmful"
UNHARMFUL = "unharmful"
REFUSAL = "refusal"
COMPLIANCE = "compliance"

HARM_LABELS = frozenset({HARMFUL, UNHARMFUL, UNKNOWN})
REFUSAL_LABELS = frozenset({REFUSAL, COMPLIANCE, UNKNOWN})

#: How a record's labels were obtained; kept so training can weight or filter by it.
ANNOTATIONS = frozenset({"human", "model", "rule", "implied"})

#: The three binary tasks, named as in the CLI and the eval harness.
TASKS = ("prompt", "response", "refusal")


def implied_response_harm(prompt_harm: str, full_refusal: bool) -> str:
    """The response-harm label a pair's other labels imply, else ``unknown``.

    An answer to a request known to be unharmful is unharmful, and a full refusal carries no
    harmful content: WildGuardTrain labels its benign-prompt compliances and its refusals the
    same way. A compliance (or partial refusal) with a harmful or unlabelled request implies
    nothing, so it stays unknown. Without these pairs the response head sees almost no
    harmless answers to harmful-sounding requests and learns to echo the prompt's harm.
    """
    return UNHARMFUL if prompt_harm == UNHARMFUL or full_refusal else UNKNOWN


@dataclass(frozen=True)
class Record:
    """One row of moderation data, in WildGuardMix's schema plus provenance.

    ``unknown`` means the source does not label that task: it is never filled by a guess.
    ``prompt`` holds the user turn being judged; earlier turns of a multi-turn source, when
    kept, are in ``context`` as ``"role: text"`` lines.
    """

    prompt: str
    source: str
    split: str = "train"
    response: str | None = None
    adversarial: bool | None = None
    prompt_harm_label: str = UNKNOWN
    response_harm_label: str = UNKNOWN
    response_refusal_label: str = UNKNOWN
    subcategory: str = UNKNOWN
    annotation: str = "human"
    context: str | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError(f"{self.source}:{self.id}: empty prompt")
        if self.prompt_harm_label not in HARM_LABELS:
            raise ValueError(
                f"{self.source}:{self.id}: prompt_harm_label={self.prompt_harm_label!r}"
            )
        if self.response_harm_label not in HARM_LABELS:
            raise ValueError(
                f"{self.source}:{self.id}: response_harm_label={self.response_harm_label!r}"
            )
        if self.response_refusal_label not in REFUSAL_LABELS:
            raise ValueError(
                f"{self.source}:{self.id}: response_refusal_label={self.response_refusal_label!r}"
            )
        if self.subcategory not in SUBCATEGORY_VALUES:
            raise ValueError(f"{self.source}:{self.id}: subcategory={self.subcategory!r}")
        if self.annotation not in ANNOTATIONS:
            raise ValueError(f"{self.source}:{self.id}: annotation={self.annotation!r}")
        if self.response is None and (
            self.response_harm_label != UNKNOWN or self.response_refusal_label != UNKNOWN
        ):
            raise ValueError(f"{self.source}:{self.id}: response labels without a response")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_item(self) -> Item:
        """The classifier input this record labels, earlier turns included."""
        return Item(self.prompt, self.response, context_turns(self.context))


# ---------------------------------------------------------------------------------------------
# Classifier input

_ROLE_LINE = re.compile(r"^(user|assistant|system): (.*)$", re.DOTALL)


def context_text(turns: Sequence[tuple[str, str]]) -> str | None:
    """Earlier conversation turns as ``"role: text"`` lines (the format of
    :attr:`Record.context`), or None when there are none."""
    lines = [f"{role}: {text}" for role, text in turns if text]
    return "\n".join(lines) if lines else None


def context_turns(text: str | None) -> tuple[tuple[str, str], ...]:
    """:attr:`Record.context` back into ``(role, text)`` turns, the inverse of
    :func:`context_text`; a line without a role prefix continues the turn before it."""
    turns: list[list[str]] = []
    for line in (text or "").split("\n"):
        match = _ROLE_LINE.match(line)
        if match:
            turns.append([match[1], match[2]])
        elif turns:
            turns[-1][1] += "\n" + line
    return tuple((role, content) for role, content in turns)


@dataclass(frozen=True)
class Item:
    """What a classifier judges: the last user turn, the last assistant turn (optional), and
    the earlier turns as context, oldest first."""

    prompt: str
    response: str | None = None
    context: tuple[tuple[str, str], ...] = ()


def _item_from_messages(messages: Any, where: str) -> Item:
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise ValueError(f"{where}: 'messages' must be a non-empty list of {{role, content}}")
    turns: list[tuple[str, str]] = []
    for j, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ValueError(f"{where}: messages[{j}] must be an object with 'role' and 'content'")
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant", "system"):
            raise ValueError(
                f"{where}: messages[{j}].role must be 'user', 'assistant' or 'system', got {role!r}"
            )
        if not isinstance(content, str):
            raise ValueError(f"{where}: messages[{j}].content must be a string")
        turns.append((role, content))
    last_user = max((j for j, (role, _) in enumerate(turns) if role == "user"), default=None)
    if last_user is None:
        raise ValueError(f"{where}: 'messages' has no user turn")
    response = None
    tail = [text for role, text in turns[last_user + 1 :] if role == "assistant"]
    if tail:
        response = tail[-1]
    return Item(prompt=turns[last_user][1], response=response, context=tuple(turns[:last_user]))


def to_item(raw: Any, index: int = 0) -> Item:
    """Validate one input (``{"prompt", "response"?}`` or ``{"messages": [...]}``) into an Item.

    Raises ``ValueError`` naming the item index and the field at fault. The input is not
    modified.
    """
    where = f"item {index}"
    if isinstance(raw, Item):
        return raw
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an object with 'prompt', got {type(raw).__name__}")
    if "messages" in raw and raw.get("prompt") is None:
        return _item_from_messages(raw["messages"], where)
    if "prompt" not in raw:
        raise ValueError(f"{where}: missing field 'prompt' (or 'messages')")
    prompt = raw["prompt"]
    if not isinstance(prompt, str):
        raise ValueError(f"{where}: field 'prompt' must be a string, got {type(prompt).__name__}")
    response = raw.get("response")
    if response is not None and not isinstance(response, str):
        raise ValueError(
            f"{where}: field 'response' must be a string or null, got {type(response).__name__}"
        )
    # WildGuard treats an empty response as "no response"; so do we.
    if response is not None and response == "":
        response = None
    return Item(prompt=prompt, response=response)


def to_items(raw_items: Any) -> list[Item]:
    """Validate a list of inputs; see :func:`to_item`."""
    if isinstance(raw_items, (str, bytes, Mapping)) or not isinstance(raw_items, Sequence):
        raise ValueError("items must be a list of objects with 'prompt' (and optional 'response')")
    return [to_item(raw, i) for i, raw in enumerate(raw_items)]


# ---------------------------------------------------------------------------------------------
# Classifier output


@dataclass
class Result:
    """One verdict, in WildGuard's keys plus scores and a risk category."""

    prompt_harmfulness: str | None
    response_harmfulness: str | None = None
    response_refusal: str | None = None
    is_parsing_error: bool = False
    prompt_harmfulness_score: float | None = None
    response_harmfulness_score: float | None = None
    response_refusal_score: float | None = None
    category: str | None = None
    category_scores: dict[str, float] | None = field(default=None)
    #: Scores of a policy's custom categories (few-shot heads, see
    #: :mod:`oneguard.custom_categories`) for the prompt and for the response; None when the
    #: policy defines none (or, for the response, when there is no response).
    prompt_custom_scores: dict[str, float] | None = None
    response_custom_scores: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result as a dict. The optional extension fields appear only when set, so
        results without custom categories keep exactly the keys of :data:`RESULT_KEYS`."""
        data = asdict(self)
        for key in OPTIONAL_RESULT_KEYS:
            if data[key] is None:
                del data[key]
        return data


#: Result fields that :meth:`Result.to_dict` leaves out when they are None.
OPTIONAL_RESULT_KEYS: tuple[str, ...] = ("prompt_custom_scores", "response_custom_scores")
#: Keys of a result dict, in order (the wildguard-compatible four first), without the
#: optional extension fields.
RESULT_KEYS: tuple[str, ...] = tuple(
    name for name in Result.__dataclass_fields__ if name not in OPTIONAL_RESULT_KEYS
)
