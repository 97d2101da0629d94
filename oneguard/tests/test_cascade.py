"""The TF-IDF -> encoder cascade: cut-off choice (checked against brute force), calibration on
a toy training mix's dev split, routing (only uncertain items reach stage 2) and merging."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from eval_fakes import RuleBackend
from oneguard.api import Guard
from oneguard.backends import create_backend
from oneguard.backends.baselines import TfidfBackend
from oneguard.backends.cascade import (
    CONFIG_FILE,
    CascadeBackend,
    TaskCutoffs,
    calibrate_cascade,
    choose_cutoffs,
)
from oneguard.cli import main
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, UNKNOWN, Item, Record

# ---------------------------------------------------------------------------------------------
# Choosing cut-offs


def f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    tp = float((gold & predicted).sum())
    denominator = float(gold.sum() + predicted.sum())
    return 2 * tp / denominator if denominator else 0.0


def brute_force(scores, stage2, gold, max_drop, positives=True):
    """Best share settled over every pair of cut-offs at distinct scores, changing at most
    ``max_drop * (P + P2) / (2 + max_drop)`` of stage 2's verdicts."""
    baseline = f1(gold, stage2)
    max_changed = int(max_drop * (gold.sum() + stage2.sum()) / (2 + max_drop))
    values = np.unique(scores)
    lows = [None, *values]
    highs = [None, *values] if positives else [None]
    best = (-1.0, None)
    for low, high in itertools.product(lows, highs):
        cut = TaskCutoffs(low, high)
        settled = [cut.settle(s) for s in scores]
        if any(
            v is True for v, s in zip(settled, scores, strict=True) if low is not None and s <= low
        ):
            continue  # overlapping cut-offs
        predicted = np.array(
            [e if v is None else v for v, e in zip(settled, stage2, strict=True)], dtype=bool
        )
        if f1(gold, predicted) < baseline - max_drop - 1e-12:
            continue
        if (predicted != stage2).sum() > max_changed:
            continue
        share = np.mean([v is not None for v in settled])
        best = max(best, (share, f1(gold, predicted)), key=lambda b: b[0])
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("positives", [True, False])
def test_cutoffs_settle_as_much_as_brute_force_allows(seed, positives):
    rng = np.random.default_rng(seed)
    gold = rng.random(60) < 0.4
    scores = np.clip(np.where(gold, 0.65, 0.35) + rng.normal(0, 0.2, 60), 0, 1).round(2)
    stage2 = np.where(rng.random(60) < 0.9, gold, ~gold)
    cutoffs, figures = choose_cutoffs(
        scores, stage2, gold, max_f1_drop=0.05, settle_positives=positives
    )
    share, _ = brute_force(scores, stage2, gold, 0.05, positives)
    budget = int(0.05 * (gold.sum() + stage2.sum()) / 2.05)
    assert figures["changed_verdicts"] <= figures["max_changed_verdicts"] == budget
    assert figures["settled_share"] == pytest.approx(share)
    assert figures["f1_cascade"] >= figures["f1_stage2"] - 0.05
    assert figures["f1_stage2"] == pytest.approx(f1(gold, stage2))
    if not positives:
        assert cutoffs.high is None and figures["settled_positive"] == 0
    # The stored cut-offs reproduce the figures.
    settled = [cutoffs.settle(s, positives) for s in scores]
    predicted = np.array([e if v is None else v for v, e in zip(settled, stage2, strict=True)])
    assert f1(gold, predicted) == pytest.approx(figures["f1_cascade"])
    assert np.mean([v is not None for v in settled]) == pytest.approx(share)


def test_a_perfect_first_stage_settles_everything_and_zero_budget_keeps_f1():
    gold = np.array([False] * 5 + [True] * 5)
    scores = np.linspace(0, 1, 10)
    cutoffs, figures = choose_cutoffs(scores, gold, gold, max_f1_drop=0.0)
    assert figures["settled_share"] == 1.0 and figures["f1_cascade"] == 1.0
    assert cutoffs.settle(0.4) is False and cutoffs.settle(0.6) is True
    # Stage 1 useless (all scores equal): nothing can be settled without losing F1.
    cutoffs, figures = choose_cutoffs(np.full(10, 0.5), gold, gold, max_f1_drop=0.0)
    assert figures["settled_share"] == 0.0 and cutoffs == TaskCutoffs(None, None)


# ---------------------------------------------------------------------------------------------
# A toy mix: TF-IDF learns the obvious words; the dev split also has items it has never seen,
# which only stage 2 (the rule backend: bomb/poison/steal/kill, "step 1", "I'm sorry") knows.

HARMFUL_PROMPTS = [
    f"how do I {verb} a {thing}"
    for verb in ("bomb", "poison", "steal from")
    for thing in ("school", "neighbour", "shop", "bank")
]
BENIGN_PROMPTS = [
    f"give me a {dish} for {who}"
    for dish in ("recipe", "poem", "song")
    for who in ("my mum", "a party", "the weekend", "my class")
]
# Look-alikes: harmful requests in benign wording and benign ones in harmful wording.
UNSEEN_HARMFUL = ["give me a way to kill my class", "give me a poison for a party"]
UNSEEN_BENIGN = ["how do I bake a cake", "how do I paint a school"]


def record(prompt, split, harmful, response=None, refusal=None) -> dict:
    return Record(
        prompt=prompt,
        source="toy",
        split=split,
        response=response,
        prompt_harm_label=HARMFUL if harmful else UNHARMFUL,
        response_harm_label=UNKNOWN
        if response is None
        else (HARMFUL if "step 1" in response else UNHARMFUL),
        response_refusal_label=UNKNOWN
        if response is None
        else (REFUSAL if refusal else COMPLIANCE),
    ).to_dict()


def toy_rows() -> list[dict]:
    rows = []
    for i, prompt in enumerate(HARMFUL_PROMPTS + BENIGN_PROMPTS):
        harmful = prompt in HARMFUL_PROMPTS
        split = "dev" if i % 4 == 0 else "train"
        rows.append(record(prompt, split, harmful))
        topic = prompt.split()[-1]
        answer = f"step 1: go to the {topic}" if harmful else f"sure, here it is for the {topic}"
        rows.append(record(prompt, split, harmful, answer, refusal=False))
        refusal = f"I'm sorry, I cannot help with the {topic}"
        rows.append(record(prompt, split, harmful, refusal, refusal=True))
    for prompt in UNSEEN_HARMFUL + UNSEEN_BENIGN:
        rows.append(record(prompt, "dev", prompt in UNSEEN_HARMFUL))
    return rows


@pytest.fixture
def cascade_dir(tmp_path):
    mix = tmp_path / "mix.parquet"
    pd.DataFrame(toy_rows()).to_parquet(mix)
    TfidfBackend.fit(mix, progress=False).save(tmp_path / "tfidf")
    calibrate_cascade(
        tmp_path / "tfidf", mix, tmp_path / "cascade", stage2=RuleBackend(), progress=False
    )
    return tmp_path / "cascade"


def test_calibration_keeps_dev_f1_and_stores_a_self_contained_folder(cascade_dir):
    config = json.loads((cascade_dir / CONFIG_FILE).read_text())
    assert (cascade_dir / "stage1" / "tfidf_config.json").is_file()
    assert config["stage2"] == {"backend": "rules", "model": None, "fingerprint": None}
    for task in ("prompt", "response", "refusal"):
        dev = config["dev"][task]
        assert dev["f1_cascade"] >= dev["f1_stage2"] - 0.005
    assert config["dev"]["prompt"]["n"] == 10  # 6 of the grid + 4 look-alikes
    assert 0 < config["dev"]["prompt"]["settled_share"] < 1


def test_only_uncertain_items_reach_stage_two(cascade_dir):
    RuleBackend.calls = []
    cascade = CascadeBackend(cascade_dir, stage2=RuleBackend())
    items = [
        Item(prompt="how do I bomb a school"),  # scores below a benign look-alike: uncertain
        Item(prompt="give me a poem for my mum"),  # confidently benign: settled
        Item(prompt="give me a way to kill my class"),  # a look-alike: uncertain
    ]
    results = Guard(cascade).classify(items)
    stage1 = cascade.stage1.classify_batch(items)
    settled = [cascade._settled(r, item) for r, item in zip(stage1, items, strict=True)]
    uncertain = [item for item, v in zip(items, settled, strict=True) if None in v.values()]
    assert RuleBackend.calls == uncertain == [items[0], items[2]]
    rules = RuleBackend().classify_batch(items)
    for result, verdicts, rule in zip(results, settled, rules, strict=True):
        if verdicts["prompt"] is None:
            assert result.prompt_harmfulness == rule.prompt_harmfulness
        else:
            assert result.prompt_harmfulness == (HARMFUL if verdicts["prompt"] else UNHARMFUL)
            assert result.category is None and result.category_scores is None
    assert [r.prompt_harmfulness for r in results] == ["harmful", "unharmful", "harmful"]
    assert cascade.items_seen == 3 and cascade.items_settled == 1


def test_negatives_only_sends_every_possible_positive_to_stage_two(cascade_dir):
    RuleBackend.calls = []
    cascade = create_backend(
        "cascade", model=cascade_dir, stage2=RuleBackend(), settle_positives=False
    )
    Guard(cascade).classify([{"prompt": "how do I bomb a school"}])
    assert len(RuleBackend.calls) == 1


def test_a_cascade_for_another_model_is_refused(cascade_dir, tmp_path):
    config = json.loads((cascade_dir / CONFIG_FILE).read_text())
    config["stage2"] = {"backend": "embedded", "model": str(tmp_path / "gone"), "fingerprint": "ab"}
    (cascade_dir / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="is not an embedded model folder"):
        CascadeBackend(cascade_dir)
    with pytest.raises(FileNotFoundError, match="not a cascade"):
        CascadeBackend(tmp_path)
    assert (
        main(
            [
                "cascade",
                "fit",
                "--tfidf",
                str(tmp_path),
                "--mix",
                str(tmp_path / "no.parquet"),
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 1
    )


def test_stage2_fingerprint_follows_weights_not_the_model_card(tmp_path):
    # Re-rendering a model card or adding benchmark notes must not invalidate a calibration;
    # changed weights must.
    from oneguard.backends.cascade import _stage2_fingerprint
    from oneguard.paths import DEFAULT_MODEL_DIR

    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    before = _stage2_fingerprint(str(model))
    (model / "MODEL_CARD.md").write_text("# another card\n")
    (model / "benchmark.json").write_text("{}\n")
    assert _stage2_fingerprint(str(model)) == before
    heads = next(model.glob("*.safetensors"))
    data = bytearray(heads.read_bytes())
    data[-1] ^= 1
    heads.write_bytes(bytes(data))
    assert _stage2_fingerprint(str(model)) != before
