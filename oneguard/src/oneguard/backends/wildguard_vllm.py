"""The original WildGuard-7B served in-process by vLLM (imported only when this backend is
asked for). Same template, tokens, parser and scores as :mod:`wildguard_hf`; one engine built
in the constructor and kept (allenai's default rebuilt it for every batch)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from oneguard.backends.wildguard_format import (
    TRAINING_CONTEXT_TOKENS,
    WildGuardPromptEncoder,
    answer_token_ids,
    result_from_token_ids,
)
from oneguard.schema import Item, Result

WILDGUARD_REPO = "allenai/wildguard"
DEFAULT_MAX_NEW_TOKENS = 32
#: vLLM returns at most this many log-probabilities per step unless the engine allows more;
#: ``yes`` and ``no`` are both among them at every answer position in practice.
DEFAULT_TOP_LOGPROBS = 20

INSTALL_HINT = (
    "the vLLM backend needs the `vllm` package (Linux + CUDA GPU): "
    "pip install 'oneguard[vllm]', or use backend='hf'"
)


def import_vllm() -> Any:
    """Import vLLM or fail with an installation hint instead of a bare ImportError."""
    try:
        import vllm
    except ImportError as error:
        raise ImportError(f"{INSTALL_HINT} ({error})") from error
    return vllm


class WildGuardVLLM:
    """WildGuard-7B through ``vllm.LLM``: greedy, token-id prompts built by
    :class:`WildGuardPromptEncoder` (so the engine's tokenizer defaults cannot add or drop the
    BOS), scores from the engine's per-step log-probabilities.

    ``engine_kwargs`` go to ``vllm.LLM`` (``tensor_parallel_size``, ``gpu_memory_utilization``,
    ...). ``device`` is accepted for symmetry with the HF backend: vLLM runs on the GPU.
    """

    name = "wildguard-vllm"

    def __init__(
        self,
        model: str = WILDGUARD_REPO,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 256,
        max_input_tokens: int | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        top_logprobs: int = DEFAULT_TOP_LOGPROBS,
        **engine_kwargs: Any,
    ) -> None:
        if device not in (None, "cuda", "auto") and not str(device).startswith("cuda"):
            raise ValueError(f"the vLLM backend runs on CUDA; got device={device!r} (use 'hf')")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        vllm = import_vllm()
        path = WILDGUARD_REPO if model == "wildguard" else model
        context = engine_kwargs.pop("max_model_len", TRAINING_CONTEXT_TOKENS)
        self.llm = vllm.LLM(
            model=path,
            dtype=dtype or "bfloat16",
            max_model_len=context,
            max_logprobs=max(top_logprobs, 1),
            **engine_kwargs,
        )
        self.sampling_params = vllm.SamplingParams(
            temperature=0.0, top_p=1.0, max_tokens=max_new_tokens, logprobs=top_logprobs
        )
        tokenizer = self.llm.get_tokenizer()
        self.tokenizer = tokenizer
        self.encoder = WildGuardPromptEncoder(
            tokenizer, max_input_tokens or context - max_new_tokens
        )
        self.answer_ids = answer_token_ids(tokenizer)
        self.default_batch_size = batch_size
        self.model_path = path

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        prompts = [
            {"prompt_token_ids": self.encoder.encode(item.prompt, item.response).input_ids}
            for item in items
        ]
        outputs = self.llm.generate(prompts, self.sampling_params, use_tqdm=False)
        return [
            self._result(output.outputs[0], item.response is not None)
            for output, item in zip(outputs, items, strict=True)
        ]

    def _decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(
            list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    def _result(self, completion: Any, has_response: bool) -> Result:
        token_ids = list(completion.token_ids)
        eos = self.tokenizer.eos_token_id
        if eos in token_ids:
            token_ids = token_ids[: token_ids.index(eos)]
        step_logprobs = completion.logprobs or []

        def logits_at(name: str, step: int) -> tuple[float, float] | None:
            if step >= len(step_logprobs) or not step_logprobs[step]:
                return None
            yes_id, no_id = self.answer_ids[name]
            top = step_logprobs[step]
            yes = top[yes_id].logprob if yes_id in top else -math.inf
            no = top[no_id].logprob if no_id in top else -math.inf
            return None if yes == no == -math.inf else (yes, no)

        return result_from_token_ids(token_ids, self._decode, has_response, logits_at)
