"""The vLLM backend: imported only when asked for, a clear error without vLLM, and - against a
stand-in ``vllm`` module with vLLM's call shapes - the same token-id prompts, parser and scores
as the HF backend. (vLLM itself needs Linux + CUDA; it is not installed for the tests.)"""

from __future__ import annotations

import math
import subprocess
import sys
import types
from types import SimpleNamespace

import pytest
from oneguard.backends.wildguard_format import WildGuardPromptEncoder, answer_token_ids
from transformers import AutoTokenizer
from wildguard_tiny import (
    BENIGN_ANSWER,
    BENIGN_ITEM,
    HARMFUL_ANSWER,
    HARMFUL_ITEM,
    shared_tiny_wildguard,
)

from oneguard import load_wildguard


def test_importing_the_backend_does_not_import_vllm():
    code = "import sys, oneguard.backends.wildguard_vllm; assert 'vllm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_vllm_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'oneguard\[vllm\]'"):
        load_wildguard(use_vllm=True)


def _fake_vllm(answers: dict[str, str], p_yes: float) -> types.ModuleType:
    """A ``vllm`` module whose engine answers with scripted text as token ids + logprobs."""
    module = types.ModuleType("vllm")
    engines: list = []

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LLM:
        def __init__(self, model, **kwargs):
            self.model, self.kwargs, self.prompts = model, kwargs, []
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            engines.append(self)

        def get_tokenizer(self):
            return self.tokenizer

        def generate(self, prompts, sampling_params, use_tqdm=True):
            tok = self.tokenizer
            yes_no = answer_token_ids(tok)["prompt_harmfulness"]
            outputs = []
            for prompt in prompts:
                self.prompts.append(prompt["prompt_token_ids"])
                text = tok.decode(prompt["prompt_token_ids"])
                answer = next(a for key, a in answers.items() if key in text)
                ids = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
                logprobs = []
                for token_id in ids:
                    step = {token_id: SimpleNamespace(logprob=-0.01)}
                    if token_id in yes_no:
                        step = {
                            yes_no[0]: SimpleNamespace(logprob=math.log(p_yes)),
                            yes_no[1]: SimpleNamespace(logprob=math.log(1 - p_yes)),
                        }
                    logprobs.append(step)
                completion = SimpleNamespace(token_ids=ids, text=tok.decode(ids), logprobs=logprobs)
                outputs.append(SimpleNamespace(outputs=[completion]))
            return outputs

    module.LLM, module.SamplingParams, module.engines = LLM, SamplingParams, engines
    return module


def test_vllm_backend_against_a_stand_in_engine(monkeypatch):
    folder = shared_tiny_wildguard(trained=False)
    fake = _fake_vllm({"bomb": HARMFUL_ANSWER, "bread": BENIGN_ANSWER}, p_yes=0.75)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    guard = load_wildguard(str(folder), backend="vllm")
    harmful, benign = guard.classify([HARMFUL_ITEM, BENIGN_ITEM])
    guard.classify([BENIGN_ITEM])

    [engine] = fake.engines  # built once, kept
    assert engine.kwargs["dtype"] == "bfloat16" and engine.kwargs["max_model_len"] == 4096
    assert engine.kwargs["max_logprobs"] == 20
    encoder = WildGuardPromptEncoder(engine.tokenizer, 4096 - 32)
    assert (
        engine.prompts[0]
        == encoder.encode(HARMFUL_ITEM["prompt"], HARMFUL_ITEM["response"]).input_ids
    )
    assert engine.prompts[0].count(engine.tokenizer.bos_token_id) == 1

    assert (
        harmful["prompt_harmfulness"],
        harmful["response_refusal"],
        harmful["response_harmfulness"],
    ) == (
        "harmful",
        "compliance",
        "harmful",
    )
    assert harmful["is_parsing_error"] is False
    assert harmful["prompt_harmfulness_score"] == pytest.approx(0.75)
    assert harmful["response_refusal_score"] == pytest.approx(0.75)
    assert benign["prompt_harmfulness"] == "unharmful" and benign["response_refusal"] is None
    assert benign["response_harmfulness_score"] is None and benign["category"] is None


def test_vllm_backend_refuses_a_cpu_device(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", _fake_vllm({}, 0.5))
    with pytest.raises(ValueError, match="runs on CUDA"):
        load_wildguard("wildguard", backend="vllm", device="cpu")
