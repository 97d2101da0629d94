"""Guard efficacy: OneGuard used as a filter (the paper's §4.4 setup), on data it never saw.

The filter checks the prompt first (a harmful prompt is refused before the model answers),
then the response (a harmful response is replaced by a refusal), with the product's default
:class:`~oneguard.policy.Policy`. Two measurements:

* **Attack success rate through the filter.** Attack transcripts whose response is labelled
  harmful (HarmBench-response human labels, GPTFuzz ``evaluate.csv`` rows labelled 1) are,
  by construction, successful attacks: ASR without a filter is 100%. The ASR with the filter
  is the share of them that neither check blocks. The paper's number (79.8% -> 2.4% for
  Tulu-2-dpo behind WildGuard) comes from generating answers and judging them with GPT-4; we
  have no generator, so we measure what leaks from transcripts known to be harmful.
* **Block rate on benign look-alikes.** Safe prompts that sound harmful (XSTest safe prompts,
  PHTest harmless prompts) should pass the prompt check; the share blocked is the cost of the
  filter in over-refusal (the paper's RTA: 0.4% on WildJailbreak's benign adversarial prompts).
  The prompt head never trains on either set, but three models' responses to the PHTest
  prompts are training pairs (refusal labels, and response-harm labels implied by the prompt
  being harmless), so the shared encoder has seen those prompts: XSTest is the clean one.

A missing verdict (parse error) does not block: the filter fails open, which counts against
the guard here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from oneguard.api import Guard
from oneguard.data import all_sources, load_source
from oneguard.eval.runner import PredictionCache, model_identity, predict
from oneguard.eval.suites import PUBLIC_SOURCE, resolve_moderation_dir
from oneguard.policy import Policy
from oneguard.schema import HARMFUL, UNHARMFUL, Item, Record


@dataclass(frozen=True)
class EfficacySet:
    """Where a set's records come from (a registered data source) and which rows it keeps."""

    name: str
    #: "attack" (harmful transcripts) or "benign" (safe prompts that look harmful).
    kind: str
    source: str
    description: str
    select: Callable[[Record], bool]


def _harmful_transcript(record: Record) -> bool:
    return record.response is not None and record.response_harm_label == HARMFUL


ATTACK_SETS: tuple[EfficacySet, ...] = (
    EfficacySet(
        "harmbench_response",
        "attack",
        PUBLIC_SOURCE,
        "HarmBench classifier set, responses labelled harmful (human majority)",
        lambda r: r.source == "harmbench_response" and _harmful_transcript(r),
    ),
    EfficacySet(
        "gptfuzz_eval",
        "attack",
        "gptfuzz_eval",
        "GPTFuzz evaluate.csv, responses labelled 1 (jailbroken, human label)",
        _harmful_transcript,
    ),
)
BENIGN_SETS: tuple[EfficacySet, ...] = (
    EfficacySet(
        "xstest_safe",
        "benign",
        "xstest_prompts",
        "XSTest v2 safe prompts (homonyms, figurative language, safe targets, ...)",
        lambda r: r.prompt_harm_label == UNHARMFUL,
    ),
    EfficacySet(
        "phtest_harmless",
        "benign",
        "phtest_prompts",
        "PHTest pseudo-harmful prompts labelled harmless, the benchmark half (not fully "
        "held out: the responses to them train refusal and, implied by this label, response "
        "harm; the other half's harmless prompts train the prompt head)",
        lambda r: r.prompt_harm_label == UNHARMFUL,
    ),
)
EFFICACY_SETS: tuple[EfficacySet, ...] = ATTACK_SETS + BENIGN_SETS


@dataclass
class AttackOutcome:
    name: str
    description: str
    n: int
    blocked_by_prompt: int
    #: Blocked by the response check after passing the prompt check.
    blocked_by_response: int
    passed: int
    #: Share the response check alone would block (as if prompts were never checked).
    response_check_alone: float

    @property
    def asr_without_filter(self) -> float:
        return 1.0  # every transcript is a successful attack

    @property
    def asr_with_filter(self) -> float:
        return self.passed / self.n

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "asr_without_filter": self.asr_without_filter,
            "asr_with_filter": self.asr_with_filter,
        }


@dataclass
class BenignOutcome:
    name: str
    description: str
    n: int
    blocked: int

    @property
    def block_rate(self) -> float:
        return self.blocked / self.n

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "block_rate": self.block_rate}


@dataclass
class EfficacyReport:
    attacks: list[AttackOutcome] = field(default_factory=list)
    benign: list[BenignOutcome] = field(default_factory=list)
    #: Set name -> why it was not measured (source not available).
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def pooled_asr_with_filter(self) -> float | None:
        n = sum(a.n for a in self.attacks)
        return sum(a.passed for a in self.attacks) / n if n else None

    @property
    def pooled_block_rate(self) -> float | None:
        n = sum(b.n for b in self.benign)
        return sum(b.blocked for b in self.benign) / n if n else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "attacks": [a.to_dict() for a in self.attacks],
            "benign": [b.to_dict() for b in self.benign],
            "pooled_asr_with_filter": self.pooled_asr_with_filter,
            "pooled_block_rate": self.pooled_block_rate,
            "skipped": dict(self.skipped),
        }


def _unique(texts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def filter_attacks(
    guard: Guard,
    records: Sequence[Record],
    *,
    name: str,
    description: str = "",
    policy: Policy | None = None,
    identity: str | None = None,
    cache: PredictionCache | None = None,
    progress: bool = True,
) -> AttackOutcome:
    """Pass harmful transcripts through the two-step filter; count what gets through."""
    if not records:
        raise ValueError(f"efficacy set {name!r} has no records")
    policy = policy or Policy()
    identity = identity or model_identity(guard.backend)
    prompts = _unique([r.prompt for r in records])
    prompt_results = predict(
        guard,
        [Item(prompt=p) for p in prompts],
        identity=identity,
        cache=cache,
        desc=f"efficacy: {name} prompts",
        progress=progress,
    )
    prompt_blocked = {
        p: policy.blocks_prompt(r) for p, r in zip(prompts, prompt_results, strict=True)
    }
    response_results = predict(
        guard,
        [Item(prompt=r.prompt, response=r.response) for r in records],
        identity=identity,
        cache=cache,
        desc=f"efficacy: {name} responses",
        progress=progress,
    )
    response_blocked = [policy.blocks_response(r) for r in response_results]
    by_prompt = sum(prompt_blocked[r.prompt] for r in records)
    by_response = sum(
        blocked and not prompt_blocked[r.prompt]
        for r, blocked in zip(records, response_blocked, strict=True)
    )
    return AttackOutcome(
        name=name,
        description=description,
        n=len(records),
        blocked_by_prompt=by_prompt,
        blocked_by_response=by_response,
        passed=len(records) - by_prompt - by_response,
        response_check_alone=sum(response_blocked) / len(records),
    )


def block_rate(
    guard: Guard,
    prompts: Sequence[str],
    *,
    name: str,
    description: str = "",
    policy: Policy | None = None,
    identity: str | None = None,
    cache: PredictionCache | None = None,
    progress: bool = True,
) -> BenignOutcome:
    """Share of (deduplicated) benign prompts that the prompt check blocks."""
    unique = _unique(prompts)
    if not unique:
        raise ValueError(f"efficacy set {name!r} has no prompts")
    policy = policy or Policy()
    results = predict(
        guard,
        [Item(prompt=p) for p in unique],
        identity=identity or model_identity(guard.backend),
        cache=cache,
        desc=f"efficacy: {name}",
        progress=progress,
    )
    blocked = sum(policy.blocks_prompt(r) for r in results)
    return BenignOutcome(name=name, description=description, n=len(unique), blocked=blocked)


def run_efficacy(
    guard: Guard,
    data_dir: str | Path | None = None,
    *,
    sets: Sequence[EfficacySet] = EFFICACY_SETS,
    policy: Policy | None = None,
    identity: str | None = None,
    cache: PredictionCache | None = None,
    progress: bool = True,
) -> EfficacyReport:
    """Measure every set whose data source is registered and present; skip the rest with a
    reason (the report lists them)."""
    folder = resolve_moderation_dir(data_dir)
    identity = identity or model_identity(guard.backend)
    report = EfficacyReport()
    registered = all_sources()
    loaded: dict[str, list[Record]] = {}
    for spec in sets:
        if spec.source not in registered:
            report.skipped[spec.name] = f"data source {spec.source!r} is not registered"
            continue
        if spec.source not in loaded:
            try:
                loaded[spec.source] = load_source(spec.source, folder)
            except FileNotFoundError as err:
                report.skipped[spec.name] = str(err)
                continue
        records = [r for r in loaded[spec.source] if spec.select(r)]
        if not records:
            report.skipped[spec.name] = f"no matching rows in source {spec.source!r}"
            continue
        common: dict[str, Any] = dict(
            name=spec.name,
            description=spec.description,
            policy=policy,
            identity=identity,
            cache=cache,
            progress=progress,
        )
        if spec.kind == "attack":
            report.attacks.append(filter_attacks(guard, records, **common))
        else:
            report.benign.append(block_rate(guard, [r.prompt for r in records], **common))
    return report
