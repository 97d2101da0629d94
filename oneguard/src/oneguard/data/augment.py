"""Adversarial augmentation in the spirit of WildTeaming, without an attacker LLM.

WildTeaming turns plain requests into adversarial ones by composing jailbreak tactics mined
from real jailbreaks, and applies the same tactics to *benign* requests so a classifier learns
what is asked, not what the wrapper looks like. Here the composition is programmatic: each
tactic is a small renderer that adds a framing sentence, rewrites how the request is embedded,
or wraps the whole text in a template from :mod:`oneguard.data.templates`. A variant is built
in stages, so tactics compose in an order a person would write them::

    rewrite the request (past/future tense, leetspeak)
    -> frame it (2-4 WildTeaming tactics, a PAP persuasion technique, a GOAT technique)
    -> optionally put everything into a container (jailbreak template, CoU, DRA puzzle)
    -> optionally append a GCG suffix

An augmented record keeps the prompt label and subcategory of its seed (a wrapped harmful
request stays harmful, a wrapped benign one stays unharmful), has ``adversarial=True`` and
``source="augment:<seed source>"``, and names its tactics in its ``id``. Everything is
deterministic given ``seed``: each variant draws from its own ``random.Random`` keyed by the
seed, the record and the variant number, so adding a record does not change the others.

Labelled prompt+response pairs are wrapped too (``n_pairs``), keeping the response and its
labels: wrapping a request changes neither whether an answer to it is harmful nor whether it
is a refusal, and WildGuard's training data pairs adversarial prompts with harmful and
refusing answers alike, so the response heads learn to read the answer behind any wrapper.

Base64 and similar encodings are left out on purpose: a text classifier cannot read them, so
encoded harmful and benign requests would be the same input with opposite labels.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from oneguard.data.dedup import normalize_text
from oneguard.data.tactics import (
    GOAT_RENDERERS,
    MODEL_NAMES,
    PERSUASION_RENDERERS,
    SEPARATORS,
    WILDTEAMING_RENDERERS,
    Draft,
    dra_puzzle,
    leetspeak,
    rewrite_tense,
)
from oneguard.data.templates import REQUEST_SLOT, TemplateLibrary
from oneguard.schema import HARMFUL, UNHARMFUL, UNKNOWN, Record

AUGMENT_PREFIX = "augment:"


def source_family(source: str) -> str:
    """The source a row was made from: augmented variants count with their seed's source."""
    return source.removeprefix(AUGMENT_PREFIX)


#: Prompt+response variants ``oneguard data build`` makes unless told otherwise.
DEFAULT_PAIR_VARIANTS = 4_000

# ---------------------------------------------------------------------------------------------
# Composition


@dataclass(frozen=True)
class AugmentConfig:
    """How many variants to make and how tactics are drawn."""

    n_harmful: int = 10_000
    n_benign: int = 10_000
    #: Seeds longer than this (characters) are not wrapped: they are passages, not requests.
    max_seed_chars: int = 500
    min_seed_chars: int = 15
    #: Share of variants of a prompt+response seed that keep the response and its labels.
    keep_response_share: float = 0.25
    #: Variants of labelled prompt+response seeds that always keep the response and its
    #: labels, half with a harmful response and half with an unharmful one (0: none, as
    #: mixes built before these existed; ``oneguard data build`` makes
    #: :data:`DEFAULT_PAIR_VARIANTS`).
    n_pairs: int = 0
    #: Sources whose pairs are never wrapped: DiaSafety's are chit-chat replies to social-media
    #: posts, not answers to requests, and nobody wraps a Reddit post in a jailbreak.
    pair_skip_sources: tuple[str, ...] = ("diasafety_train",)
    #: Weights of the main routes; a route whose library part is missing is skipped.
    route_weights: tuple[tuple[str, float], ...] = (
        ("wildteaming", 0.30),
        ("template", 0.22),
        ("persuasion", 0.14),
        ("tense", 0.12),
        ("goat", 0.10),
        ("cou", 0.05),
        ("dra", 0.04),
        ("leetspeak", 0.03),
    )
    #: Probability of stacking a second framing onto a template/CoU/persuasion/GOAT route.
    extra_framing_p: float = 0.35
    gcg_suffix_p: float = 0.05


def _weighted(rng: random.Random, items: Sequence[tuple[str, float]]) -> str:
    names = [name for name, _ in items]
    weights = [weight for _, weight in items]
    return rng.choices(names, weights=weights, k=1)[0]


class Augmenter:
    """Makes adversarial variants of requests from a :class:`TemplateLibrary`."""

    def __init__(self, library: TemplateLibrary, config: AugmentConfig | None = None) -> None:
        self.library = library
        self.config = config or AugmentConfig()
        # Tactics are drawn by frequency; the square root keeps the long tail in play
        # ("fictional justifications" alone is 15% of all mined uses).
        self._tactics = [
            (t.name, t.count**0.5) for t in library.tactics if t.name in WILDTEAMING_RENDERERS
        ]
        self._persuasion = [p.name for p in library.persuasion if p.name in PERSUASION_RENDERERS]
        self._goat = [g.name for g in library.goat if g.name in GOAT_RENDERERS]
        by_family: dict[str, list] = defaultdict(list)
        for template in library.slot_templates:
            by_family[template.family].append(template)
        self._templates = dict(sorted(by_family.items()))
        available = {
            "wildteaming": len(self._tactics) >= 2,
            "template": bool(self._templates),
            "persuasion": bool(self._persuasion),
            "tense": bool(library.time_expressions.past or library.time_expressions.future),
            "goat": bool(self._goat),
            "cou": library.cou_template is not None,
            "dra": bool(library.dra_templates),
            "leetspeak": True,
        }
        self.routes = [(name, w) for name, w in self.config.route_weights if available.get(name)]
        # Leetspeak alone is not adversarial augmentation; it needs a library to build on.
        if not [name for name, _ in self.routes if name != "leetspeak"]:
            raise ValueError(
                "template library is empty: no augmentation route is available "
                f"(missing: {', '.join(library.missing) or 'nothing usable'})"
            )

    # -- framings ---------------------------------------------------------------------------

    def _wildteaming(self, draft: Draft, rng: random.Random, k: int) -> None:
        names = [name for name, _ in self._tactics]
        weights = [w for _, w in self._tactics]
        chosen: list[str] = []
        while len(chosen) < min(k, len(names)):
            name = rng.choices(names, weights=weights, k=1)[0]
            if name not in chosen:
                chosen.append(name)
        for name in chosen:
            if WILDTEAMING_RENDERERS[name](draft, rng):
                draft.tactics.append(f"wt:{name}")

    def _persuade(self, draft: Draft, rng: random.Random) -> None:
        name = rng.choice(self._persuasion)
        PERSUASION_RENDERERS[name](draft, rng)
        draft.tactics.append(f"pap:{name}")

    def _goat_frame(self, draft: Draft, rng: random.Random) -> None:
        name = rng.choice(self._goat)
        GOAT_RENDERERS[name](draft, rng)
        draft.tactics.append(f"goat:{name}")

    def _extra_framing(self, draft: Draft, rng: random.Random) -> None:
        if self._tactics and rng.random() < self.config.extra_framing_p:
            self._wildteaming(draft, rng, 1)

    # -- one variant ------------------------------------------------------------------------

    def variant(self, request: str, rng: random.Random) -> tuple[str, list[str]]:
        """One adversarial version of ``request`` and the tactics used. Falls back to another
        route when the drawn one does not apply (e.g. no tense rule fits)."""
        request = request.strip()
        for _ in range(8):
            route = _weighted(rng, self.routes)
            built = self._build(route, request, rng)
            if built is not None:
                text, tactics = built
                if self.library.gcg_suffixes and rng.random() < self.config.gcg_suffix_p:
                    text = f"{text} {rng.choice(self.library.gcg_suffixes)}"
                    tactics.append("gcg_suffix")
                return text, tactics
        # Every route refused (only tense/DRA can); a two-tactic WildTeaming frame always works.
        draft = self._draft(request, rng)
        if self._tactics:
            self._wildteaming(draft, rng, 2)
        elif self._persuasion:
            self._persuade(draft, rng)
        else:
            draft.request = leetspeak(request, rng)
            draft.tactics.append("leetspeak")
        return draft.render(), draft.tactics

    @staticmethod
    def _draft(request: str, rng: random.Random) -> Draft:
        return Draft(request, sep=rng.choice(SEPARATORS))

    def _build(self, route: str, request: str, rng: random.Random) -> tuple[str, list[str]] | None:
        draft = self._draft(request, rng)
        if route == "wildteaming":
            self._wildteaming(draft, rng, rng.choice((2, 2, 3, 3, 4)))
            return draft.render(), draft.tactics
        if route == "persuasion":
            self._persuade(draft, rng)
            self._extra_framing(draft, rng)
            return draft.render(), draft.tactics
        if route == "goat":
            self._goat_frame(draft, rng)
            self._extra_framing(draft, rng)
            return draft.render(), draft.tactics
        if route == "tense":
            tense = "past" if rng.random() < 0.5 else "future"
            phrases = getattr(self.library.time_expressions, tense)
            if not phrases:
                tense = "future" if tense == "past" else "past"
                phrases = getattr(self.library.time_expressions, tense)
            rewritten = rewrite_tense(request, tense, rng.choice(phrases), rng)
            if rewritten is None:
                return None
            draft.request = rewritten
            draft.tactics.append(f"tense:{tense}")
            if rng.random() < 0.3:
                self._extra_framing(draft, rng)
            return draft.render(), draft.tactics
        if route == "leetspeak":
            draft.request = leetspeak(request, rng)
            draft.tactics.append("leetspeak")
            self._wildteaming(draft, rng, rng.choice((1, 2)))
            return draft.render(), draft.tactics
        if route == "template":
            family = rng.choice(list(self._templates))
            template = rng.choice(self._templates[family])
            if rng.random() < 0.15:
                draft.request = leetspeak(request, rng)
                draft.tactics.append("leetspeak")
            elif self._persuasion and rng.random() < 0.2:
                self._persuade(draft, rng)
            draft.tactics.append(f"template:{family}")
            return template.fill(draft.render(), rng.choice(MODEL_NAMES)), draft.tactics
        if route == "cou":
            assert self.library.cou_template is not None
            return self.library.cou_template.replace(REQUEST_SLOT, request), ["cou"]
        if route == "dra":
            text = dra_puzzle(request, rng.choice(self.library.dra_templates), rng)
            return (text, ["dra"]) if text is not None else None
        raise ValueError(f"unknown augmentation route {route!r}")


# ---------------------------------------------------------------------------------------------
# Records


def is_seed(record: Record, config: AugmentConfig) -> bool:
    """Whether a record can be wrapped: a single-turn, vanilla, prompt-labelled request of
    request length."""
    return (
        record.prompt_harm_label in (HARMFUL, UNHARMFUL)
        and record.adversarial is not True
        and not record.context
        and config.min_seed_chars <= len(record.prompt.strip()) <= config.max_seed_chars
        and not record.source.startswith(AUGMENT_PREFIX)
    )


def is_pair_seed(record: Record, config: AugmentConfig) -> bool:
    """Whether a labelled prompt+response pair can be wrapped: a single-turn, vanilla request
    of request length whose response harm is labelled."""
    return (
        record.response is not None
        and record.response_harm_label in (HARMFUL, UNHARMFUL)
        and record.adversarial is not True
        and not record.context
        and config.min_seed_chars <= len(record.prompt.strip()) <= config.max_seed_chars
        and not record.source.startswith(AUGMENT_PREFIX)
        and record.source not in config.pair_skip_sources
    )


def _balanced_pick(records: Sequence[Record], n: int, rng: random.Random) -> list[Record]:
    """``n`` seeds spread evenly over sources (so Alpaca's 31k prompts do not crowd out the
    rest), each prompt once before any repeats; deterministic for ``rng``."""
    by_source: dict[str, list[Record]] = defaultdict(list)
    seen: set[str] = set()
    for record in records:
        key = normalize_text(record.prompt)
        if key not in seen:
            seen.add(key)
            by_source[record.source].append(record)
    if not by_source or n <= 0:
        return []
    queues = []
    for source in sorted(by_source):
        pool = list(by_source[source])
        rng.shuffle(pool)
        queues.append(pool)
    deepest = max(len(queue) for queue in queues)
    picked: list[Record] = []
    # Round-robin over sources, one prompt each per round; a source that runs out stops
    # contributing. When every prompt has been used once, start over (a second variant).
    while True:
        for depth in range(deepest):
            for queue in queues:
                if depth < len(queue):
                    picked.append(queue[depth])
                    if len(picked) == n:
                        return picked


def augment_pairs(
    records: Sequence[Record],
    library: TemplateLibrary,
    config: AugmentConfig | None = None,
    seed: int = 0,
) -> list[tuple[Record, Record]]:
    """``(augmented, seed record)`` pairs: ``config.n_harmful`` variants of harmful seeds,
    ``config.n_benign`` of benign ones and ``config.n_pairs`` of labelled prompt+response
    pairs among ``records`` (fewer only when a label has no seeds or the variants run out of
    distinct texts). The seed is returned so that a split can
    keep every variant on the same side as its original prompt."""
    config = config or AugmentConfig()
    augmenter = Augmenter(library, config)
    seeds = [r for r in records if is_seed(r, config)]
    pair_seeds = [r for r in records if is_pair_seed(r, config)] if config.n_pairs > 0 else []
    pick_rng = random.Random(f"oneguard-augment-pick:{seed}")
    out: list[tuple[Record, Record]] = []
    seen: set[str] = {normalize_text(r.prompt) for r in records}
    # (pool, variants wanted, whether every variant keeps its response)
    plan = [
        ([r for r in seeds if r.prompt_harm_label == HARMFUL], config.n_harmful, False),
        ([r for r in seeds if r.prompt_harm_label == UNHARMFUL], config.n_benign, False),
        ([r for r in pair_seeds if r.response_harm_label == HARMFUL], config.n_pairs // 2, True),
        (
            [r for r in pair_seeds if r.response_harm_label == UNHARMFUL],
            config.n_pairs - config.n_pairs // 2,
            True,
        ),
    ]
    for pool, n, pairs_only in plan:
        variants_made: Counter[tuple[str, str]] = Counter()
        kind = "pair:" if pairs_only else ""  # pair variants draw their own tactics
        for record in _balanced_pick(pool, n, pick_rng):
            key = (record.source, record.id or normalize_text(record.prompt))
            # A variant whose text already exists is redrawn (a few times at most).
            for _attempt in range(3):
                number = variants_made[key]
                variants_made[key] += 1
                rng = random.Random(f"oneguard-augment:{kind}{seed}:{key[0]}:{key[1]}:{number}")
                text, tactics = augmenter.variant(record.prompt, rng)
                norm = normalize_text(text)
                if norm in seen:
                    continue
                seen.add(norm)
                augmented = _augmented_record(
                    record, text, tactics, f"{kind}{number}", rng, config, pairs_only
                )
                out.append((augmented, record))
                break
    return out


def augment_records(
    records: Sequence[Record],
    library: TemplateLibrary,
    config: AugmentConfig | None = None,
    seed: int = 0,
) -> list[Record]:
    """Adversarial variants of the harmful and benign seeds among ``records``; see
    :func:`augment_pairs`."""
    return [augmented for augmented, _ in augment_pairs(records, library, config, seed)]


def _augmented_record(
    seed_record: Record,
    text: str,
    tactics: list[str],
    number: str,
    rng: random.Random,
    config: AugmentConfig,
    always_keep_response: bool = False,
) -> Record:
    keep_response = seed_record.response is not None and (
        always_keep_response or rng.random() < config.keep_response_share
    )
    base_id = seed_record.id or normalize_text(seed_record.prompt)[:40]
    return replace(
        seed_record,
        prompt=text,
        source=f"{AUGMENT_PREFIX}{seed_record.source}",
        adversarial=True,
        response=seed_record.response if keep_response else None,
        response_harm_label=seed_record.response_harm_label if keep_response else UNKNOWN,
        response_refusal_label=seed_record.response_refusal_label if keep_response else UNKNOWN,
        id=f"{base_id}|aug{number}|{'+'.join(tactics)}",
    )
