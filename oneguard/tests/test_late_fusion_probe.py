"""The late-fusion probe: its fusions, its dev rule and its report, on synthetic scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from benchmark_scripts import load_benchmark_script

TASKS = ("prompt", "response", "refusal")


@pytest.fixture(scope="module")
def probe():
    return load_benchmark_script("late_fusion_probe")


def _noisy(gold: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(gold.clip(0, 1) * 0.6 + 0.2 + rng.normal(0, noise, gold.shape), 0.01, 0.99)


@pytest.fixture
def gold() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {t: rng.integers(0, 2, 800) for t in TASKS}


def _views(probe, gold, model_noise: float, lexical_noise: float, seed: int):
    rng = np.random.default_rng(seed)
    model = {t: _noisy(g, model_noise, rng) for t, g in gold.items()}
    lexical = {t: _noisy(g, lexical_noise, rng) for t, g in gold.items()}
    return probe.Views(model, lexical, _noisy(gold["response"], model_noise, rng))


def test_parameter_zero_is_the_model_alone_and_other_tasks_stay_untouched(probe, gold):
    views = _views(probe, gold, 0.3, 0.3, 1)
    for fusion, _, _ in probe.FAMILIES.values():
        for task in TASKS:
            np.testing.assert_allclose(fusion(views, task, 0.0), probe._logit(views.model[task]))
    blended = probe.fused(views, probe._prompt_term, 0.5)
    np.testing.assert_allclose(blended["prompt"], probe._logit(views.model["prompt"]))
    assert not np.allclose(blended["response"], probe._logit(views.model["response"]))


def test_an_informative_second_view_passes_the_dev_rule(probe, gold):
    views = _views(probe, gold, model_noise=0.45, lexical_noise=0.15, seed=2)
    choice = probe.dev_choice(views, gold, probe._lexical_blend, (0.1, 0.3, 0.5), resamples=100)
    assert choice["param"] == 0.5
    assert choice["passes_rule"] and choice["gain_ci95"][0] > 0
    assert choice["dev_mean_f1"] > choice["reference_dev_mean_f1"]


def test_a_useless_second_view_does_not_pass(probe, gold):
    rng = np.random.default_rng(3)
    views = _views(probe, gold, model_noise=0.15, lexical_noise=0.15, seed=3)
    views.lexical = {t: rng.uniform(0.01, 0.99, len(g)) for t, g in gold.items()}
    choice = probe.dev_choice(views, gold, probe._lexical_blend, (0.3, 0.5), resamples=100)
    assert not choice["passes_rule"]


@dataclass
class _Bench:
    name: str
    task: str
    labels: list[bool]

    def gold(self) -> list[bool]:
        return self.labels


def test_benchmark_f1_applies_dev_thresholds_and_averages_per_task(probe, tmp_path):
    suite = [
        _Bench("a", "prompt", [True, False, True, False]),
        _Bench("b", "response", [True, True, False, False]),
        _Bench(probe.XSTEST_REFUSAL, "refusal", [True, False, False, False]),
    ]
    held_out = [_Bench("c", "prompt", [True, True, False, False])]
    logits = np.array([2.0, -2.0, 0.5, -0.5])
    scores = {b.name: {t: logits for t in TASKS} for b in [*suite, *held_out]}
    f1 = probe.benchmark_f1([*suite, *held_out], scores, dict.fromkeys(TASKS, 0.0))
    assert f1["a"] == pytest.approx(1.0)  # positives at 2.0 and 0.5, negatives below 0
    assert f1["b"] == pytest.approx(0.5)
    assert f1["c"] == pytest.approx(0.5)
    avg = probe.averages(f1, suite, held_out)
    assert avg["suite_prompt"] == pytest.approx(1.0)
    assert avg["suite_xstest_refusal"] == pytest.approx(f1[probe.XSTEST_REFUSAL])
    assert avg["held_out_response"] is None
    report = {
        "command": "python late_fusion_probe.py",
        "model": "m",
        "lexical": "l",
        "mix": "mix.parquet",
        "dev_rows": 4,
        "resamples": 10,
        "rows": [
            {"name": "model alone", "dev_mean_f1": 0.8, "averages": avg, "f1": f1},
            {
                "name": "lexical blend",
                "param_name": "w",
                "choice": {
                    "param": 0.3,
                    "dev_mean_f1": 0.82,
                    "reference_dev_mean_f1": 0.8,
                    "gain_ci95": [0.01, 0.03],
                    "passes_rule": True,
                },
                "averages": avg,
                "f1": f1,
            },
        ],
    }
    text = probe.write_report(report, tmp_path).read_text(encoding="utf-8")
    assert "| lexical blend | w = 0.3 | 82.00 | +2.00 (+1.00 … +3.00) | yes | 100.0 |" in text
    assert (tmp_path / "late_fusion.json").is_file()
