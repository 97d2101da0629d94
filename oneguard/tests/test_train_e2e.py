"""Train -> save -> load -> classify on a tiny random BERT and a 24-row mix, in seconds."""

from __future__ import annotations

import dataclasses
import json
import shutil
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from oneguard.data.augment import source_family
from oneguard.data.registry import all_sources
from oneguard.model.artifact import (
    DELTA_FILE,
    HEADS_FILE,
    ArtifactConfig,
    ArtifactError,
    load_artifact,
)
from oneguard.model.classifier import ModerationModel
from oneguard.model.encoder import load_encoder, load_tokenizer
from oneguard.model.features import CachedLowerStates, LiveFeatures, tokenize_all
from oneguard.model.heads import HeadConfig
from oneguard.model.thresholds import best_f1_threshold
from oneguard.model.truncation import TruncationPolicy
from oneguard.schema import RESULT_KEYS, Record
from oneguard.train import (
    CHECKPOINT_FILE,
    TrainConfig,
    TrainError,
    add_prompt_swapped_refusals,
    bucketed_batches,
    examples_from_records,
    read_records,
    subsample_rows,
    train,
    warm_start,
)
from safetensors.torch import load_file
from tiny_model import (
    BENIGN_PROMPTS,
    HARMFUL_PROMPTS,
    REFUSALS,
    make_tiny_encoder,
    tiny_records,
    tiny_train_config,
    write_mix,
)
from transformers import AutoModel

from oneguard import load_wildguard


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    encoder = make_tiny_encoder(root / "encoder")
    mix = write_mix(tiny_records(), root / "mix.parquet")
    return encoder, mix


def config(tiny, out, **overrides) -> TrainConfig:
    encoder, mix = tiny
    return tiny_train_config(encoder, overrides.pop("mix", mix), out, **overrides)


def test_frozen_training_writes_heads_only_and_classifies(tiny, tmp_path):
    summary = train(config(tiny, tmp_path / "model", head_lr=1e-2, epochs=30))
    out = tmp_path / "model"
    assert (out / HEADS_FILE).is_file() and (out / "MODEL_CARD.md").is_file()
    assert not (out / DELTA_FILE).exists()  # frozen encoder: nothing to store
    stored = ArtifactConfig.read(out)
    assert stored.thresholds == summary.thresholds
    # 18 training rows + 6 prompt-swapped copies of the 12 refusal-labelled ones.
    assert stored.training["rows"] == {"train": 24, "dev": 6}
    assert stored.training["steps"] == summary.steps == 30 * 3  # 24 / 8 steps per epoch
    # Dev rows per task: prompt labels on 3 dev rows (2 harmful), refusal labels on 4.
    assert (summary.dev_metrics["prompt"]["n"], summary.dev_metrics["prompt"]["positives"]) == (
        3,
        2,
    )
    assert (summary.dev_metrics["refusal"]["n"], summary.dev_metrics["refusal"]["positives"]) == (
        4,
        2,
    )
    assert stored.dev_metrics["prompt"]["f1"] == summary.dev_metrics["prompt"]["f1"] > 0

    guard = load_wildguard(str(out), encoder=str(tiny[0]))
    items = [
        {"prompt": HARMFUL_PROMPTS[1]},
        {"prompt": BENIGN_PROMPTS[1]},
        {"prompt": HARMFUL_PROMPTS[2], "response": REFUSALS[0]},
    ]
    results = guard.classify(items)
    assert [tuple(r) for r in results] == [RESULT_KEYS] * 3
    assert results[0]["prompt_harmfulness"] == "harmful"
    assert results[1]["prompt_harmfulness"] == "unharmful"
    assert results[2]["response_refusal"] == "refusal"
    assert results[0]["response_refusal"] is None


def test_finetuning_stores_an_fp16_delta_that_round_trips(tiny, tmp_path):
    out = tmp_path / "model"
    train(config(tiny, out, finetune_layers=1, epochs=2))
    stored = ArtifactConfig.read(out)
    # Only the top layer (of 2) is stored, never the embeddings.
    assert stored.delta_tensors and all(
        n.startswith("encoder.layer.1.") for n in stored.delta_tensors
    )
    delta = load_file(str(out / DELTA_FILE))
    assert set(delta) == set(stored.delta_tensors)
    assert {t.dtype for t in delta.values()} == {torch.float16}

    model, _ = load_artifact(out, encoder_path=tiny[0])
    params = dict(model.encoder.named_parameters())
    for name, value in delta.items():
        assert torch.equal(params[name], value.float())
    # The untouched bottom layer is the packaged encoder's, bit for bit.
    plain = dict(AutoModel.from_pretrained(str(tiny[0])).named_parameters())
    assert torch.equal(
        params["encoder.layer.0.attention.self.query.weight"],
        plain["encoder.layer.0.attention.self.query.weight"],
    )
    assert not torch.equal(
        params["encoder.layer.1.attention.self.query.weight"],
        plain["encoder.layer.1.attention.self.query.weight"],
    )


def test_warm_start_continues_from_a_trained_model_and_keeps_its_delta(tiny, tmp_path):
    stage1 = tmp_path / "stage1"
    train(config(tiny, stage1, finetune_layers=1, epochs=2))
    first_delta = load_file(str(stage1 / DELTA_FILE))
    # Stage 2 trains only the heads (frozen encoder) on top of stage 1's fine-tuned layer.
    stage2 = tmp_path / "stage2"
    train(config(tiny, stage2, init_from=stage1, epochs=1))
    stored = ArtifactConfig.read(stage2)
    assert stored.delta_tensors == ArtifactConfig.read(stage1).delta_tensors
    assert stored.training["init_from"]["path"] == str(stage1)
    assert "Stage 1" in (stage2 / "MODEL_CARD.md").read_text()
    # The inherited layer is carried over unchanged; the heads started from stage 1's.
    model, _ = load_artifact(stage2, encoder_path=tiny[0])
    params = dict(model.encoder.named_parameters())
    for name, value in first_delta.items():
        assert torch.equal(params[name], value.float())
    stage1_heads = load_file(str(stage1 / HEADS_FILE))
    stage2_heads = load_file(str(stage2 / HEADS_FILE))
    assert any(not torch.equal(stage1_heads[k], stage2_heads[k]) for k in stage1_heads)


def test_a_chain_of_warm_starts_lists_every_stage_in_the_card(tiny, tmp_path):
    # The last stage trains on a rebuilt mix that kept an earlier mix's dev split, built
    # without advbench and before copyright_requests was registered.
    rebuilt = tmp_path / "rebuilt.parquet"
    shutil.copy(tiny[1], rebuilt)
    registry = all_sources()
    used = {n for n, s in registry.items() if s.role != "templates"} - {
        "advbench",
        "copyright_requests",
    }
    summary = {
        "config": {"keep_split_from": "build/mix/old.parquet", "exclude": ["advbench"]},
        "train_sources": sorted(n for n in used if registry[n].role == "train"),
        "eval_sources": sorted(n for n in used if registry[n].role == "eval"),
    }
    rebuilt.with_suffix(".summary.json").write_text(json.dumps(summary))
    train(config(tiny, tmp_path / "s1", epochs=1))
    train(config(tiny, tmp_path / "s2", init_from=tmp_path / "s1", epochs=1))
    train(config(tiny, tmp_path / "s3", init_from=tmp_path / "s2", epochs=1, mix=rebuilt))
    card = (tmp_path / "s3" / "MODEL_CARD.md").read_text()
    s1, s2, s3 = (card.index(f"Stage {n} ") for n in (1, 2, 3))
    assert s1 < s2 < s3
    assert f"`{tmp_path / 's1'}`" in card[s1:s2] and f"`{tmp_path / 's2'}`" in card[s2:s3]
    # Every earlier stage names the mix it trained on; the card rebuilds this stage's mix.
    first_mix = ArtifactConfig.read(tmp_path / "s1").training["mix"]["sha256_16"]
    assert f"mix sha256 prefix {first_mix})" in card[s1:s2]
    assert f"mix sha256 prefix {first_mix})" in card[s2:s3]
    assert (
        f"--out {rebuilt} --keep-split-from build/mix/old.parquet --exclude advbench "
        "--exclude copyright_requests --augment-pairs 0`"  # built before pair variants
    ) in card


def test_warm_start_rejects_a_model_with_other_heads(tiny, tmp_path):
    stage1 = tmp_path / "stage1"
    train(config(tiny, stage1, epochs=1))
    with pytest.raises(TrainError, match="--feature-layers"):
        train(config(tiny, tmp_path / "b", init_from=stage1, head_hidden=8))
    with pytest.raises(TrainError, match="no such model folder"):
        train(config(tiny, tmp_path / "c", init_from=tmp_path / "missing"))


def test_interrupted_run_resumes_from_its_checkpoint(tiny, tmp_path):
    work = tmp_path / "work"
    first = train(
        config(tiny, tmp_path / "a", work_dir=work, checkpoint_every=2, time_budget_s=1e-9)
    )
    assert first.steps == 1 and (work / CHECKPOINT_FILE).is_file()
    second = train(config(tiny, tmp_path / "b", work_dir=work, checkpoint_every=2))
    assert second.resumed_from == 1
    assert second.steps == 4 * 3
    assert not (work / CHECKPOINT_FILE).exists()  # a finished run cleans up
    # The card says the recorded time covers only the steps after the checkpoint.
    assert "resumed from its step-1 checkpoint" in (tmp_path / "b" / "MODEL_CARD.md").read_text()
    assert "resumed from" not in (tmp_path / "a" / "MODEL_CARD.md").read_text()


def test_same_seed_gives_the_same_model(tiny, tmp_path):
    a = train(config(tiny, tmp_path / "a", epochs=2))
    b = train(config(tiny, tmp_path / "b", epochs=2))
    assert a.thresholds == b.thresholds
    ha, hb = (
        load_file(str(tmp_path / "a" / HEADS_FILE)),
        load_file(str(tmp_path / "b" / HEADS_FILE)),
    )
    assert all(torch.equal(ha[k], hb[k]) for k in ha)


def test_bad_mix_row_is_reported_with_its_number(tiny, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [r.to_dict() for r in tiny_records()[:3]]
    rows[2]["prompt_harm_label"] = "maybe"
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "bad.parquet")
    with pytest.raises(TrainError, match=r"row 2: .*prompt_harm_label='maybe'"):
        train(config(tiny, tmp_path / "m", mix=tmp_path / "bad.parquet"))
    with pytest.raises(TrainError, match="not found"):
        train(config(tiny, tmp_path / "m", mix=tmp_path / "missing.parquet"))


def test_unknown_labels_carry_no_loss(tiny, tmp_path):
    # A mix whose only labelled task is refusal trains (other tasks get no loss, thresholds
    # default to 0.5 with no dev rows to tune on).
    rows = [
        Record(
            prompt="p",
            response="i am sorry",
            source="s",
            split=split,
            response_refusal_label=label,
            id=f"{split}{i}{label}",
        )
        for split in ("train", "dev")
        for i in range(3)
        for label in ("refusal", "compliance")
    ]
    mix = write_mix(rows, tmp_path / "refusal_only.parquet")
    summary = train(config(tiny, tmp_path / "m", mix=mix, epochs=1))
    assert summary.thresholds["prompt"] == 0.5 and summary.dev_metrics["prompt"]["f1"] is None
    assert summary.dev_metrics["refusal"]["n"] == 6


def test_artifact_errors_name_the_file(tiny, tmp_path):
    out = tmp_path / "model"
    train(config(tiny, out, epochs=1))
    data = json.loads((out / "config.json").read_text())
    data["encoder"]["signature"]["hidden_size"] = 999
    (out / "config.json").write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="config.json: trained on an encoder"):
        load_artifact(out, encoder_path=tiny[0])
    (out / "config.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="invalid JSON"):
        load_artifact(out, encoder_path=tiny[0])
    with pytest.raises(ArtifactError, match="not a oneguard"):
        load_wildguard(str(tmp_path), encoder=str(tiny[0]))


def test_best_f1_threshold_picks_the_f1_maximum():
    gold = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    choice = best_f1_threshold(gold, scores)
    # Predict >= 0.6: tp 3, fp 1 -> F1 6/7, better than >= 0.8 (tp 2: F1 0.8).
    assert choice.threshold == 0.6 and choice.f1 == pytest.approx(6 / 7)
    assert best_f1_threshold(np.zeros(3, bool), np.ones(3)).f1 is None


def test_bf16_autocast_path_trains(tiny, tmp_path):
    # The precision used on CUDA, exercised on CPU: losses stay finite, the artifact loads.
    summary = train(config(tiny, tmp_path / "m", finetune_layers=-1, precision="bf16", epochs=1))
    stored = ArtifactConfig.read(tmp_path / "m")
    assert stored.training["precision"] == "bf16"
    assert all(0.0 <= t <= 1.0 for t in summary.thresholds.values())
    # Every encoder layer (not the embeddings) is in the delta.
    assert {n.split(".")[2] for n in stored.delta_tensors} == {"0", "1"}


def test_cached_lower_states_match_the_live_encoder(tiny):
    # The CPU fine-tune runs only the top layer on cached states of the layer below: its
    # features must be the full encoder's, so the stored delta means the same at inference.
    encoder_path, mix = tiny
    examples = examples_from_records(read_records(mix), {"human": 1.0})
    policy = TruncationPolicy(max_length=32, pair_prompt_tokens=12)
    model = ModerationModel(
        load_encoder(encoder_path),
        load_tokenizer(encoder_path),
        policy,
        HeadConfig(feature_layers=(1, 2)),
    ).eval()
    rows = np.arange(len(examples))
    cached = CachedLowerStates(
        model, examples, rows, 1, batch_size=4, autocast=nullcontext(), progress=False
    )
    live = LiveFeatures(model, tokenize_all(model, examples, progress=False))
    prompt_rows = rows[examples.needs_prompt].tolist()
    pair_rows = rows[examples.needs_pair].tolist()
    with torch.no_grad():
        assert torch.allclose(cached.prompt(prompt_rows), live.prompt(prompt_rows), atol=2e-2)
        assert torch.allclose(cached.pair(pair_rows), live.pair(pair_rows), atol=2e-2)
        # Stored at bf16: close to, not bit-equal with, the fp32 features.
        assert not torch.equal(cached.prompt(prompt_rows), live.prompt(prompt_rows))
    with pytest.raises(ValueError, match="below the cached layer"):
        model.feature_states_from(torch.zeros(1, 3, 8), torch.ones(1, 3), 2)


def test_cached_lower_states_fine_tune_trains_only_the_top_layer(tiny, tmp_path):
    out = tmp_path / "model"
    summary = train(
        config(tiny, out, finetune_layers=1, cache_lower_states=True, precision="bf16", epochs=2)
    )
    stored = ArtifactConfig.read(out)
    assert {n.split(".")[2] for n in stored.delta_tensors} == {"1"}
    assert all(0.0 <= t <= 1.0 for t in summary.thresholds.values())
    results = load_wildguard(str(out), encoder=str(tiny[0])).classify(
        [{"prompt": HARMFUL_PROMPTS[0], "response": REFUSALS[0]}]
    )
    assert set(RESULT_KEYS) <= set(results[0])
    # Feature layers below the cached one cannot be computed from the cache.
    with pytest.raises(TrainError, match="lie below"):
        train(
            config(
                tiny,
                tmp_path / "bad",
                finetune_layers=1,
                cache_lower_states=True,
                feature_layers=(0, 2),
            )
        )
    with pytest.raises(TrainError, match="top-k fine-tune"):
        train(config(tiny, tmp_path / "bad", cache_lower_states=True))


def test_bucketed_batches_cover_every_row_once_with_little_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 500, size=1000)
    batches = bucketed_batches(lengths, 32, np.random.default_rng(1))
    assert len(batches) == 32  # ceil(1000 / 32)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    random_padded = sum(
        len(b) * lengths[b].max() for b in np.array_split(rng.permutation(1000), 32)
    )
    assert padded < 0.75 * random_padded


def test_prompt_swapped_refusal_copies_keep_only_the_refusal_label():
    records = tiny_records()
    examples = examples_from_records(records, {})
    train_rows = np.flatnonzero(examples.split == "train")
    grown, rows = add_prompt_swapped_refusals(examples, train_rows, 1.0, seed=0)
    copies = rows[len(train_rows) :]
    refusal_rows = train_rows[examples.labels["refusal"][train_rows] >= 0]
    assert len(copies) == len(refusal_rows) == 12
    assert sorted(grown.texts[i].response for i in copies) == sorted(
        examples.texts[i].response for i in refusal_rows
    )
    assert sorted(grown.labels["refusal"][copies]) == sorted(
        examples.labels["refusal"][refusal_rows]
    )
    for task in ("prompt", "response", "category"):
        assert (grown.labels[task][copies] == -1).all()
    # Donor prompts alternate harmful / unharmful training prompts.
    donors = [grown.texts[i].prompt for i in copies]
    assert (
        sum(p in HARMFUL_PROMPTS for p in donors) == sum(p in BENIGN_PROMPTS for p in donors) == 6
    )
    assert all(str(s).startswith("prompt-swap:") for s in grown.source[copies])
    assert add_prompt_swapped_refusals(examples, train_rows, 0.0, seed=0)[0] is examples


def test_pair_share_sets_the_share_of_response_rows_in_the_sample():
    examples = examples_from_records(tiny_records(), {})
    rows = np.arange(len(examples.texts))
    with_response = examples.has_response
    n_pairs, n_prompts = int(with_response.sum()), int((~with_response).sum())
    assert n_pairs > 4 and n_prompts > 4
    size = min(n_pairs, n_prompts)
    # Without a share: the seeded uniform sample training always drew.
    uniform = subsample_rows(examples, rows, size, seed=3)
    expected = np.sort(np.random.default_rng(3).choice(rows, size, replace=False))
    assert uniform.tolist() == expected.tolist()
    for share in (0.0, 0.25, 1.0):
        sample = subsample_rows(examples, rows, size, seed=3, pair_share=share)
        assert len(sample) == len(set(sample.tolist())) == size
        assert with_response[sample].sum() == round(share * size)
    # A side too small for its share is taken whole; the other fills the sample.
    everything_but_one = len(rows) - 1
    sample = subsample_rows(examples, rows, everything_but_one, seed=3, pair_share=1.0)
    assert with_response[sample].sum() == n_pairs and len(sample) == everything_but_one
    assert subsample_rows(examples, rows, len(rows), seed=3, pair_share=0.5) is rows


def test_pair_share_needs_a_sample_size_and_a_share_in_range(tiny, tmp_path):
    with pytest.raises(TrainError, match="set max_train_rows"):
        train(config(tiny, tmp_path / "m", pair_share=0.5))
    with pytest.raises(TrainError, match=r"pair_share must be in \[0, 1\]"):
        train(config(tiny, tmp_path / "m", pair_share=1.5, max_train_rows=10))


def test_source_weights_scale_a_source_and_its_augmented_variants():
    records = tiny_records()[:4]
    records[1] = dataclasses.replace(records[1], source="augment:tiny", annotation="model")
    records[2] = dataclasses.replace(records[2], source="other")
    examples = examples_from_records(records, {"model": 0.5}, {"tiny": 3.0})
    assert examples.weight.tolist() == [3.0, 1.5, 1.0, 1.0]  # the last is tiny_pairs
    assert source_family("augment:tiny") == "tiny" == source_family("tiny")


def test_source_weights_must_name_mix_sources_and_be_non_negative(tiny, tmp_path):
    with pytest.raises(TrainError, match=r"sources not in .*\['tinny'\]"):
        train(config(tiny, tmp_path / "m", source_weights={"tinny": 2.0}))
    with pytest.raises(TrainError, match="must be >= 0"):
        train(config(tiny, tmp_path / "m", source_weights={"tiny": -1.0}))


def _stage_with_max_path(tiny, tmp_path, max_heads, epochs):
    """A first stage without a max path, then a second from it with ``max_heads``."""
    stage1, stage2 = tmp_path / "stage1", tmp_path / "stage2"
    train(config(tiny, stage1, finetune_layers=1, epochs=epochs))
    train(
        config(
            tiny,
            stage2,
            init_from=stage1,
            finetune_layers=1,
            epochs=epochs,
            max_pool_heads=max_heads,
        )
    )
    return stage1, stage2


def _pair_texts(tiny):
    return [t for t in examples_from_records(read_records(tiny[1]), {}).texts if t.response]


def test_max_pooled_response_path_starts_at_zero_and_then_learns(tiny, tmp_path):
    # Added to a model trained without it, the path leaves every score as it was (its output
    # layer starts at zero); trained, it changes them and survives save -> load.
    stage1, stage2 = _stage_with_max_path(tiny, tmp_path, ("refusal", "response"), epochs=2)
    base, stored = load_artifact(stage1, encoder_path=tiny[0])
    assert not stored.heads.max_heads
    with_max = dataclasses.replace(stored.heads, max_heads=("response", "refusal"))
    warm, _ = warm_start(stage1, tiny[0], stored.truncation, with_max)
    texts = _pair_texts(tiny)
    before, added = base.score(texts), warm.eval().score(texts)
    assert np.array_equal(before.response, added.response)
    assert np.array_equal(before.refusal, added.refusal)

    trained, trained_config = load_artifact(stage2, encoder_path=tiny[0])
    assert trained_config.heads.max_heads == ("response", "refusal")
    assert "max-pooled" in (stage2 / "MODEL_CARD.md").read_text()
    assert {k.split(".")[0] for k in load_file(str(stage2 / HEADS_FILE))} >= {
        "response_max",
        "refusal_max",
    }
    after = trained.score(texts)
    assert not np.allclose(after.response, before.response)
    results = load_wildguard(str(stage2), encoder=str(tiny[0])).classify(
        [{"prompt": t.prompt, "response": t.response} for t in texts[:3]]
    )
    assert all(r["response_harmfulness"] in {"harmful", "unharmful"} for r in results)

    # Its heads cannot be dropped again, and a frozen encoder cannot feed the path.
    for kept in ((), ("response",)):
        with pytest.raises(TrainError, match="--max-pool-heads response,refusal"):
            train(
                config(
                    tiny, tmp_path / "c", init_from=stage2, finetune_layers=1, max_pool_heads=kept
                )
            )
    with pytest.raises(TrainError, match="fine-tuned encoder"):
        train(config(tiny, tmp_path / "d", max_pool_heads=("response",)))
    with pytest.raises(TrainError, match="not pair heads"):
        train(config(tiny, tmp_path / "e", finetune_layers=1, max_pool_heads=("prompt",)))


def test_max_path_on_the_response_head_alone_leaves_refusal_untouched(tiny, tmp_path):
    # A path on one head adds no module to the other, and that head's scores stay as they were
    # at the warm start; the path's heads are recorded by name and survive save -> load.
    stage1, stage2 = _stage_with_max_path(tiny, tmp_path, ("response",), epochs=1)
    _, stored = load_artifact(stage1, encoder_path=tiny[0])
    one = dataclasses.replace(stored.heads, max_heads=("response",))
    warm, _ = warm_start(stage1, tiny[0], stored.truncation, one)
    assert warm.heads.response_max is not None and warm.heads.refusal_max is None
    assert load_artifact(stage2, encoder_path=tiny[0])[1].heads.max_heads == ("response",)
    stored_heads = {k.split(".")[0] for k in load_file(str(stage2 / HEADS_FILE))}
    assert "response_max" in stored_heads and "refusal_max" not in stored_heads
    assert "response-harm head also reads" in (stage2 / "MODEL_CARD.md").read_text()
    # Adding the refusal path later keeps the trained response path.
    both = dataclasses.replace(stored.heads, max_heads=("response", "refusal"))
    warm_both, _ = warm_start(stage2, tiny[0], stored.truncation, both)
    trained, _ = load_artifact(stage2, encoder_path=tiny[0])
    texts = _pair_texts(tiny)
    assert np.array_equal(trained.score(texts).refusal, warm_both.eval().score(texts).refusal)


def test_head_config_reads_models_saved_before_max_paths_were_per_head():
    legacy = {"hidden": 8, "dropout": 0.1, "feature_layers": [4, 6]}
    assert HeadConfig.from_dict({**legacy, "response_max": True}).max_heads == (
        "response",
        "refusal",
    )
    assert HeadConfig.from_dict({**legacy, "response_max": False}).max_heads == ()
    config = HeadConfig(feature_layers=(6,), max_heads=("refusal", "response"))
    assert config.max_heads == ("response", "refusal")  # one canonical order
    assert HeadConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="not pair heads"):
        HeadConfig(max_heads=("prompt",))


def test_max_pool_reads_only_the_response_tokens(tiny):
    # Padding and prompt tokens never win the max; an empty response falls back to [CLS].
    heads = HeadConfig(feature_layers=(1,), max_heads=("response",))
    model = ModerationModel(
        load_encoder(tiny[0]),
        load_tokenizer(tiny[0]),
        TruncationPolicy(max_length=32, pair_prompt_tokens=12),
        heads,
    )
    hidden = torch.tensor(
        [[[1.0], [9.0], [2.0], [3.0], [-5.0]], [[4.0], [7.0], [0.0], [0.0], [0.0]]]
    )
    segments = torch.tensor([[0, 2, 3, 3, 0], [0, 2, 0, 0, 0]])
    pooled = model.pool_pair([hidden], segments)
    assert pooled.shape == (2, 3) == (2, heads.pair_width(1))
    assert pooled[0].tolist() == [pytest.approx(14 / 3), 2.5, 3.0]
    assert pooled[1, 2].item() == 4.0
