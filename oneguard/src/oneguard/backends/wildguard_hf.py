"""The original WildGuard-7B (``allenai/wildguard``) through Hugging Face transformers.

Fixes the flaws of allenai's ``WildGuardHF``: no vLLM import, the model is loaded once in the
constructor and kept, bf16 instead of fp32, long inputs really truncated, exactly one BOS,
left padding for batched greedy decoding, and a parser that reads only the generated tokens.
It also returns scores: ``p(yes) / (p(yes) + p(no))`` at each answer position, read from the
logits of the step that wrote the value (see :func:`answer_token_ids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch

from oneguard.backends.wildguard_format import (
    TRAINING_CONTEXT_TOKENS,
    WildGuardPromptEncoder,
    answer_token_ids,
    result_from_token_ids,
)
from oneguard.schema import Item, Result

if TYPE_CHECKING:
    from transformers import PreTrainedModel

#: The Hugging Face repository of the original model (gated: accept AI2's terms first).
WILDGUARD_REPO = "allenai/wildguard"
#: The answer is three short lines (~18 tokens with Mistral's tokenizer) and EOS; the model
#: card generates 32 tokens.
DEFAULT_MAX_NEW_TOKENS = 32

_DTYPES = {
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "float32": torch.float32,
    "fp32": torch.float32,
    "float": torch.float32,
}


def resolve_model_path(model: str) -> str:
    """``"wildguard"`` (the CLI's name) means the original repository; anything else is a
    repository id or a local directory."""
    return WILDGUARD_REPO if model == "wildguard" else model


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` picks CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype | str:
    """``None`` means bf16 (fp16 on GPUs without bf16, and on Apple MPS); ``"auto"`` keeps the
    checkpoint's dtype. bf16 also on CPU: 7B in fp32 needs ~28 GB of memory."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None:
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return torch.float16
        return torch.float16 if device.type == "mps" else torch.bfloat16
    if dtype == "auto":
        return "auto"
    try:
        return _DTYPES[str(dtype).lower().removeprefix("torch.")]
    except KeyError:
        raise ValueError(
            f"unknown dtype {dtype!r}; use one of {', '.join(sorted(_DTYPES))} or 'auto'"
        ) from None


def _dtype_keyword() -> str:
    """transformers renamed ``torch_dtype`` to ``dtype`` in 4.56."""
    import transformers

    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def _load_error(path: str, error: Exception) -> RuntimeError:
    hint = (
        "it is gated on the Hugging Face hub: accept AI2's terms at "
        "https://huggingface.co/allenai/wildguard and log in (`hf auth login`), or pass a "
        "local directory with the weights"
        if path == WILDGUARD_REPO
        else "pass a directory holding a causal LM checkpoint and its tokenizer"
    )
    return RuntimeError(f"cannot load WildGuard from {path!r}: {str(error).rstrip('.')}. {hint}")


class WildGuardHF:
    """WildGuard-7B in transformers: greedy, batched, loaded once, bf16 by default.

    ``max_input_tokens`` bounds what the model reads (BOS + template + inputs); by default
    4096 - ``max_new_tokens`` so that reading and writing stay within the 4096-token length
    WildGuard was trained on, and never more than the model's position limit allows.
    """

    name = "wildguard-hf"

    def __init__(
        self,
        model: str = WILDGUARD_REPO,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        batch_size: int = 16,
        max_input_tokens: int | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = resolve_model_path(model)
        target = resolve_device(device)
        load_kwargs: dict[str, Any] = {_dtype_keyword(): resolve_dtype(dtype, target)}
        if target.type != "cpu" and _dtype_keyword() == "dtype":
            load_kwargs["device_map"] = str(target)  # load straight onto the GPU
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, use_fast=True)
            causal_lm: PreTrainedModel = AutoModelForCausalLM.from_pretrained(path, **load_kwargs)
        except (OSError, ValueError) as error:
            raise _load_error(path, error) from error
        if "device_map" not in load_kwargs:
            # PreTrainedModel.to is decorated with functools.wraps, whose stub leaves ``self``
            # unbound; type the call as nn.Module.to (the model's own ``to`` still runs).
            module: torch.nn.Module = causal_lm
            causal_lm = cast("PreTrainedModel", module.to(target))
        self._setup(causal_lm, tokenizer, batch_size, max_input_tokens, max_new_tokens)
        self.model_path = str(Path(path)) if Path(path).exists() else path

    @classmethod
    def from_loaded(
        cls,
        model: PreTrainedModel,
        tokenizer: Any,
        *,
        batch_size: int = 16,
        max_input_tokens: int | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    ) -> WildGuardHF:
        """Wrap a model and tokenizer already in memory (benchmarks, custom loading)."""
        backend = cls.__new__(cls)
        backend._setup(model, tokenizer, batch_size, max_input_tokens, max_new_tokens)
        backend.model_path = getattr(model.config, "_name_or_path", "") or "<in memory>"
        return backend

    def _setup(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        batch_size: int,
        max_input_tokens: int | None,
        max_new_tokens: int,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_new_tokens < 8:
            raise ValueError(f"max_new_tokens={max_new_tokens} is too short for three lines")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        self.default_batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        positions = (
            getattr(model.config, "max_position_embeddings", None) or TRAINING_CONTEXT_TOKENS
        )
        limit = min(TRAINING_CONTEXT_TOKENS, positions) - max_new_tokens
        if max_input_tokens is None:
            max_input_tokens = limit
        elif max_input_tokens + max_new_tokens > positions:
            raise ValueError(
                f"max_input_tokens={max_input_tokens} + max_new_tokens={max_new_tokens} exceeds "
                f"the model's {positions} positions"
            )
        self.encoder = WildGuardPromptEncoder(tokenizer, max_input_tokens)
        self.answer_ids = answer_token_ids(tokenizer)
        self._score_columns = sorted({i for pair in self.answer_ids.values() for i in pair})
        self.eos_token_ids = self._eos_ids()
        pad = tokenizer.pad_token_id
        self.pad_token_id = pad if pad is not None else self.eos_token_ids[0]

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        for source in (self.tokenizer.eos_token_id, self.model.generation_config.eos_token_id):
            for token_id in source if isinstance(source, list) else [source]:
                if token_id is not None and token_id not in ids:
                    ids.append(int(token_id))
        if not ids:
            raise ValueError("the tokenizer and the model define no EOS token")
        return ids

    # -----------------------------------------------------------------------------------------

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        """Classify ``items``; longest first in sub-batches of ``default_batch_size`` to keep
        padding small, returned in input order."""
        encoded = [self.encoder.encode(item.prompt, item.response).input_ids for item in items]
        order = sorted(range(len(items)), key=lambda i: -len(encoded[i]))
        results: list[Result | None] = [None] * len(items)
        for start in range(0, len(order), self.default_batch_size):
            chunk = order[start : start + self.default_batch_size]
            generations, logits = self.generate([encoded[i] for i in chunk])
            for row, index in enumerate(chunk):
                results[index] = self._result(
                    generations[row], logits[row], items[index].response is not None
                )
        return [result for result in results if result is not None]

    @torch.inference_mode()
    def generate(self, batch: Sequence[Sequence[int]]) -> tuple[list[list[int]], torch.Tensor]:
        """Greedy continuation of left-padded ``batch``.

        Returns the generated ids per row (cut at the first EOS) and the logits of the
        yes/no answer tokens at every step, ``[rows, steps, len(score columns)]`` in fp32 on
        CPU (the full vocabulary is never kept).
        """
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1
        output = self.model.generate(
            input_ids=input_ids.to(self.device),
            attention_mask=attention_mask.to(self.device),
            do_sample=False,
            num_beams=1,
            temperature=None,
            top_p=None,
            top_k=None,
            max_new_tokens=self.max_new_tokens,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.pad_token_id,
            output_logits=True,
            return_dict_in_generate=True,
        )
        columns = torch.tensor(self._score_columns, device=self.device)
        logits = torch.stack([step.index_select(-1, columns) for step in output.logits], dim=1)
        generations = []
        for row in output.sequences[:, width:].tolist():
            cut = next((k for k, t in enumerate(row) if t in self.eos_token_ids), len(row))
            generations.append(row[:cut])
        return generations, logits.float().cpu()

    def _decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(
            list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    def _result(self, generation: list[int], logits: torch.Tensor, has_response: bool) -> Result:
        column = {token_id: k for k, token_id in enumerate(self._score_columns)}

        def logits_at(name: str, step: int) -> tuple[float, float] | None:
            if step >= logits.shape[0]:
                return None
            yes_id, no_id = self.answer_ids[name]
            return float(logits[step, column[yes_id]]), float(logits[step, column[no_id]])

        return result_from_token_ids(generation, self._decode, has_response, logits_at)
