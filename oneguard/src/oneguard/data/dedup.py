"""Deduplication: keep evaluation data out of training, and one label per text in training.

An evaluation label can reach training in three ways, and each is cut:

* the same **pair** (conversation + response): it carries every label of the evaluation item.
  The training row is dropped.
* the same **response** with another prompt: response labels travel with the response text.
  The training row is dropped, unless the response is generic: short ("I'm sorry, I can't
  help with that.") or canned, i.e. given word for word to two or more different prompts
  (Llama-3's "I cannot provide information or guidance on illegal or harmful activities. Can
  I help you with something else?"). Those carry nothing benchmark-specific, and matching
  them would remove most refusals from training.
* the same **prompt** (the judged input: the prompt, plus its earlier turns when both sides
  have them): the training row's *prompt* label is removed, and so are its *response* labels
  when an evaluation set judges responses to that prompt (a response benchmark's prompt is
  half of every judged pair). A row left without labels is dropped. So a row whose prompt is
  in a prompt-only benchmark can still teach refusal on its own response (PHTest's responses
  against the PHTest prompts), and no row ever carries a label for a benchmark's input.
  ``strict=True`` drops every row whose prompt is in any evaluation set instead.

Texts are compared by :func:`normalize_text` (Unicode NFKC, case folding, punctuation and
whitespace removed), so copies that differ only in formatting still match. A multi-turn
evaluation item is matched by its judged input (earlier turns + last user turn); an
evaluation prompt without earlier turns matches that utterance in any conversation, so a
"hi" in a benchmark removes "hi" everywhere.

Within the training mix, the same text can come from several sources with different labels.
:func:`resolve_training_duplicates` keeps one record per text and one label per task, by this
rule: the label from the best annotation wins (human > model > implied > rule: a person's
judgement of this text beats an LLM judge's, which beats a label implied by how a dataset was
built, which beats a keyword heuristic); when annotations of the same rank disagree, that
task's label becomes ``unknown`` (a true conflict), and a record left with no label is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from oneguard.schema import UNKNOWN, Record

#: Annotation kinds, most trusted first (see the module docstring for the reasoning).
ANNOTATION_PRIORITY: tuple[str, ...] = ("human", "model", "implied", "rule")
#: Responses shorter than this (normalised characters) are too generic to leak a label.
MIN_LEAKING_RESPONSE_CHARS = 64

_NOT_WORD = re.compile(r"[\W_]+")
_RANK = {name: rank for rank, name in enumerate(ANNOTATION_PRIORITY)}


@lru_cache(maxsize=1 << 18)
def normalize_text(text: str) -> str:
    """Comparison key of a text: NFKC, case-folded, runs of punctuation/whitespace/symbols
    collapsed to one space. A text made only of symbols keeps its symbols (so ":)" and "?!"
    do not collide as the empty string). Cached: a build asks for the same key many times."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    key = _NOT_WORD.sub(" ", folded).strip()
    return key if key else " ".join(folded.split())


def prompt_key(record: Record) -> str:
    """Key of a record's prompt alone (used against evaluation sets and for splits)."""
    return normalize_text(record.prompt)


def turn_key(record: Record) -> str:
    """Key of a record's prompt in its conversation: the same utterance after different
    earlier turns can deserve different labels."""
    if record.context:
        return f"{normalize_text(record.context)}\x1e{normalize_text(record.prompt)}"
    return normalize_text(record.prompt)


def pair_key(record: Record) -> str:
    """Key of the judged (conversation, response) pair."""
    response = normalize_text(record.response) if record.response is not None else ""
    return f"{turn_key(record)}\x1f{response}"


# ---------------------------------------------------------------------------------------------
# Against evaluation sets


_PROMPT_FIELD = "prompt_harm_label"
_RESPONSE_FIELDS = ("response_harm_label", "response_refusal_label")


@dataclass(frozen=True)
class Overlap:
    """How a training record overlaps the evaluation sets."""

    #: "pair", "response" or "prompt".
    reason: str
    #: The (first, in load order) evaluation source holding the overlapping text.
    eval_source: str
    #: Whether evaluation sets judge responses to this prompt.
    judges_responses: bool = False


@dataclass
class EvalIndex:
    """Normalised keys of every evaluation record, each with the name of the first
    evaluation source it came from."""

    #: Judged inputs (earlier turns + prompt; the prompt alone without earlier turns).
    inputs: dict[str, str] = field(default_factory=dict)
    #: Prompts of evaluation records that have no earlier turns.
    bare_prompts: dict[str, str] = field(default_factory=dict)
    #: Judged inputs and bare prompts whose response is judged by some evaluation record.
    judged_for_response: set[str] = field(default_factory=set)
    pairs: dict[str, str] = field(default_factory=dict)
    #: Responses long enough to leak (see :data:`MIN_LEAKING_RESPONSE_CHARS`).
    responses: dict[str, str] = field(default_factory=dict)
    #: Long responses given to more than one distinct prompt (generic, never matched).
    canned: set[str] = field(default_factory=set)
    _first_prompt: dict[str, str] = field(default_factory=dict, repr=False)

    def add(self, records: Iterable[Record], source: str) -> None:
        for record in records:
            judged = turn_key(record)
            self.inputs.setdefault(judged, source)
            if not record.context:
                self.bare_prompts.setdefault(judged, source)
            if record.response is None:
                continue
            self.judged_for_response.add(judged)
            self.pairs.setdefault(pair_key(record), source)
            key = normalize_text(record.response)
            if len(key) >= MIN_LEAKING_RESPONSE_CHARS:
                self.responses.setdefault(key, source)
                if self._first_prompt.setdefault(key, judged) != judged:
                    self.canned.add(key)

    def overlap(self, record: Record, canned: Set[str] = frozenset()) -> Overlap | None:
        """How ``record`` overlaps an evaluation record, or None. ``canned`` adds responses
        known to be generic from elsewhere (the training data)."""
        if record.response is not None:
            hit = self.pairs.get(pair_key(record))
            if hit is not None:
                return Overlap("pair", hit, True)
            key = normalize_text(record.response)
            hit = self.responses.get(key)
            if hit is not None and key not in self.canned and key not in canned:
                return Overlap("response", hit, True)
        judged, bare = turn_key(record), prompt_key(record)
        hit = self.inputs.get(judged) or self.bare_prompts.get(bare)
        if hit is None:
            return None
        judges = judged in self.judged_for_response or bare in self.judged_for_response
        return Overlap("prompt", hit, judges)


@dataclass
class DedupReport:
    """What deduplication removed or changed, per training source."""

    #: Rows dropped because their prompt is in an evaluation set (and no label was left).
    eval_prompt: Counter[str] = field(default_factory=Counter)
    #: Rows dropped because their (prompt, response) pair or long response is in one.
    eval_response: Counter[str] = field(default_factory=Counter)
    #: Rows kept although their prompt is in an evaluation set: the labels judged there are
    #: removed, the rest (e.g. refusal on a prompt-only benchmark's prompt) stays.
    eval_stripped: Counter[str] = field(default_factory=Counter)
    #: Evaluation source -> training rows it caused to be dropped or stripped.
    eval_hits: Counter[str] = field(default_factory=Counter)
    #: Rows dropped as copies of a text kept from another (or the same) source.
    duplicate: Counter[str] = field(default_factory=Counter)
    #: Rows dropped because every label they had was in true conflict.
    conflict: Counter[str] = field(default_factory=Counter)
    #: Rows dropped because they carry no label at all.
    unlabelled: Counter[str] = field(default_factory=Counter)
    #: Rows whose label for some task was replaced by a better-annotated one.
    relabelled: Counter[str] = field(default_factory=Counter)
    #: Task -> number of texts whose label was a true conflict (set to unknown).
    conflicting_texts: Counter[str] = field(default_factory=Counter)

    def dropped(self, source: str) -> int:
        return (
            self.eval_prompt[source]
            + self.eval_response[source]
            + self.duplicate[source]
            + self.conflict[source]
            + self.unlabelled[source]
        )

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {
            name: dict(sorted(getattr(self, name).items()))
            for name in (
                "eval_prompt",
                "eval_response",
                "eval_stripped",
                "eval_hits",
                "duplicate",
                "conflict",
                "unlabelled",
                "relabelled",
                "conflicting_texts",
            )
        }


def _canned_responses(records: Sequence[Record]) -> set[str]:
    """Long responses that these records give to more than one distinct prompt."""
    first: dict[str, str] = {}
    canned: set[str] = set()
    for record in records:
        if record.response is None:
            continue
        key = normalize_text(record.response)
        if len(key) >= MIN_LEAKING_RESPONSE_CHARS and first.setdefault(
            key, turn_key(record)
        ) != turn_key(record):
            canned.add(key)
    return canned


def drop_eval_overlap(
    records: Iterable[Record],
    index: EvalIndex,
    report: DedupReport | None = None,
    strict: bool = False,
) -> tuple[list[Record], DedupReport]:
    """Training records cleaned of evaluation overlap (see the module docstring); with
    ``strict`` every record sharing a prompt with an evaluation set is dropped."""
    report = report if report is not None else DedupReport()
    records = list(records)
    kept = []
    canned = _canned_responses(records)
    for record in records:
        overlap = index.overlap(record, canned)
        if overlap is None:
            kept.append(record)
            continue
        report.eval_hits[overlap.eval_source] += 1
        if overlap.reason in ("pair", "response"):
            report.eval_response[record.source] += 1
            continue
        if strict:
            report.eval_prompt[record.source] += 1
            continue
        stripped = [_PROMPT_FIELD, *(_RESPONSE_FIELDS if overlap.judges_responses else ())]
        remaining = [f for f in (_PROMPT_FIELD, *_RESPONSE_FIELDS) if f not in stripped]
        if all(getattr(record, f) == UNKNOWN for f in remaining):
            report.eval_prompt[record.source] += 1
            continue
        if any(getattr(record, f) != UNKNOWN for f in stripped):
            unknowns: dict[str, Any] = dict.fromkeys(stripped, UNKNOWN)
            record = replace(record, **unknowns)
        report.eval_stripped[record.source] += 1
        kept.append(record)
    return kept, report


# ---------------------------------------------------------------------------------------------
# Within the training mix

#: Response-level label fields and the task names they are reported under.
_RESPONSE_TASKS = dict(zip(_RESPONSE_FIELDS, ("response", "refusal"), strict=True))


def _resolve(records: Sequence[Record], task: str) -> tuple[str, bool]:
    """The label for ``task`` over records of one text, and whether it was a true conflict."""
    best_rank = None
    labels: set[str] = set()
    for record in records:
        label = getattr(record, task)
        if label == UNKNOWN:
            continue
        rank = _RANK.get(record.annotation, len(_RANK))
        if best_rank is None or rank < best_rank:
            best_rank, labels = rank, {label}
        elif rank == best_rank:
            labels.add(label)
    if not labels:
        return UNKNOWN, False
    if len(labels) > 1:
        return UNKNOWN, True
    return labels.pop(), False


def resolve_training_duplicates(
    records: Sequence[Record], report: DedupReport | None = None
) -> tuple[list[Record], DedupReport]:
    """One record per (conversation, response) text and one label per task; see the module
    docstring for the rule. Keeps the first record of each text (best annotation first), in
    the input order otherwise."""
    report = report if report is not None else DedupReport()
    prompt_groups: dict[str, list[Record]] = defaultdict(list)
    pair_groups: dict[str, list[int]] = defaultdict(list)
    for position, record in enumerate(records):
        prompt_groups[turn_key(record)].append(record)
        pair_groups[pair_key(record)].append(position)

    prompt_label: dict[str, str] = {}
    for key, group in prompt_groups.items():
        label, conflict = _resolve(group, "prompt_harm_label")
        prompt_label[key] = label
        report.conflicting_texts["prompt"] += conflict

    kept: list[tuple[int, Record]] = []
    for positions in pair_groups.values():
        group = [records[p] for p in positions]
        resolved = {"prompt_harm_label": prompt_label[turn_key(group[0])]}
        for task, task_name in _RESPONSE_TASKS.items():
            label, conflict = _resolve(group, task)
            resolved[task] = label
            report.conflicting_texts[task_name] += conflict
        # The best-annotated record stands for the text (the earliest among equals).
        first = min(positions, key=lambda p: (_RANK.get(records[p].annotation, len(_RANK)), p))
        keeper = records[first]
        for position in positions:
            if position != first:
                report.duplicate[records[position].source] += 1
        if all(label == UNKNOWN for label in resolved.values()):
            had_labels = any(
                getattr(r, task) != UNKNOWN
                for r in group
                for task in ("prompt_harm_label", *_RESPONSE_TASKS)
            )
            (report.conflict if had_labels else report.unlabelled)[keeper.source] += 1
            continue
        changed: dict[str, Any] = {
            task: label for task, label in resolved.items() if getattr(keeper, task) != label
        }
        if changed:
            if any(getattr(keeper, task) != UNKNOWN for task in changed):
                report.relabelled[keeper.source] += 1
            keeper = replace(keeper, **changed)
        kept.append((first, keeper))
    kept.sort(key=lambda item: item[0])
    return [record for _, record in kept], report
