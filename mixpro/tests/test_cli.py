"""``mixpro train|bench|demo`` from the command line: clear errors, no tracebacks, and a tiny
end-to-end bench."""

from __future__ import annotations

import json
import os

import pytest
from mixpro.cli import main
from synthetic_images import write_cifar_like

from mixpro import data


@pytest.fixture(scope="module")
def cifar_like(tmp_path_factory):
    return write_cifar_like(tmp_path_factory.mktemp("cli") / "c10", 10, 4)


def _run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_bad_data_path(capsys, tmp_path):
    code, _, err = _run(
        capsys, "train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")
    )
    assert code == 2 and "missing: data folder not found" in err


def test_bad_shard(capsys, tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x-train.tar").write_bytes(b"garbage")
    (tmp_path / "bad" / "x-test.tar").write_bytes(b"garbage")
    code, _, err = _run(
        capsys, "train", "--data", str(tmp_path / "bad"), "--out", str(tmp_path / "o")
    )
    assert code == 2 and "x-train.tar: not a readable tar archive" in err


def test_bad_flags(capsys, tmp_path, cifar_like):
    code, _, err = _run(capsys, "train", "--aug", "mixmax")
    assert code == 2 and "invalid choice: 'mixmax'" in err
    code, _, err = _run(capsys, "train", "--epochs", "ten")
    assert code == 2 and "invalid int value: 'ten'" in err
    code, _, err = _run(capsys, "train", "--data", str(cifar_like), "--epochs", "0")
    assert code == 2 and "--epochs must be >= 1" in err
    code, _, err = _run(capsys, "train", "--data", str(cifar_like), "--model", "resnet_nope")
    assert code == 2 and "not a timm model name" in err
    code, _, err = _run(capsys, "bench", "--methods", "none,mixmax")
    assert code == 2 and "unknown ['mixmax']" in err


def test_config_file_with_flag_override(capsys, tmp_path, cifar_like):
    config = tmp_path / "run.yaml"
    config.write_text(
        f"data: {cifar_like}\nmodel: vit_cifar_d32_l2\nepochs: 5\nbatch-size: 20\n"
        f"aug: cutmix\nprogress: false\nthreads: 1\nout: {tmp_path / 'run'}\n"
    )
    code, out, _ = _run(capsys, "train", "--config", str(config), "--epochs", "1")
    assert code == 0 and "cutmix: test accuracy" in out and "after 1/1 epochs" in out
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    assert row["aug"] == "cutmix" and row["train_images"] == 100
    bad = tmp_path / "bad.yaml"
    bad.write_text("epoch: 3\n")
    code, _, err = _run(capsys, "train", "--config", str(bad))
    assert code == 2 and "bad.yaml: unknown key 'epoch'" in err


def test_demo_falls_back_to_digits(capsys, tmp_path):
    code, out, _ = _run(
        capsys, "demo", "--data", str(tmp_path / "no-cifar"), "--epochs", "1", "--subset", "100",
        "--out", str(tmp_path / "demo"),
    )  # fmt: skip
    assert code == 0
    assert "CIFAR-10 is not available" in out and "FALLING BACK to scikit-learn's 8×8 digits" in out
    row = json.loads((tmp_path / "demo" / "metrics.jsonl").read_text())
    assert row["aug"] == "mixpro" and row["test_images"] == 300 and row["train_images"] == 64


def test_tiny_bench_end_to_end(capsys, tmp_path, cifar_like, monkeypatch):
    monkeypatch.setattr(data, "_MEMORY_CACHE", {})
    results = tmp_path / "results"
    argv = [
        "bench", "--data", str(cifar_like), "--methods", "none,mixpro", "--seeds", "2",
        "--model", "vit_cifar_d32_l2", "--epochs", "2", "--subset", "60", "--test-subset", "40", "--batch-size", "20",
        "--results", str(results), "--work-dir", str(tmp_path / "work"), "--parallel", "4",
    ]  # fmt: skip
    code, out, _ = _run(capsys, *argv)
    assert code == 0, out
    payload = json.loads((results / "results.json").read_text())
    assert payload["epochs"] == 2 and payload["seeds"] == [0, 1] and payload["failed"] == []
    for method in ("none", "mixpro"):
        stats = payload["methods"][method]
        assert stats["seeds"] == [0, 1] and len(stats["curves"]) == 2
        assert len(stats["curves"][0]) == 2 and stats["std"] >= 0
    assert payload["methods"]["none"]["time_vs_none"] == 1.0
    report = (results / "results.md").read_text()
    assert "| MixPro |" in report and "| none |" in report and "Separation check" in report
    assert (results / "accuracy_curves.png").stat().st_size > 10_000
    # the run order is seed-major, method-minor
    starts = sorted((tmp_path / "work").glob("*-seed*.yaml"), key=os.path.getmtime)
    assert [p.stem for p in starts] == ["none-seed0", "mixpro-seed0", "none-seed1", "mixpro-seed1"]
    # re-running resumes: nothing left to train, the same numbers come back
    code, _, _ = _run(capsys, *argv)
    again = json.loads((results / "results.json").read_text())
    assert (
        code == 0
        and again["methods"]["mixpro"]["final_test_acc"]
        == payload["methods"]["mixpro"]["final_test_acc"]
    )
