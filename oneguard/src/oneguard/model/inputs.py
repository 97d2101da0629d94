"""Turn texts into padded encoder batches, following the :mod:`truncation` policy.

Tokenising is one fast-tokenizer call per batch over every distinct text in it; the window
layout (special tokens, budgets, context) is then assembled from token ids, so the same code
serves training, inference and feature caching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from oneguard.model.truncation import EncodedInput, TruncationPolicy


@dataclass(frozen=True)
class TextInput:
    """The texts of one example: the judged prompt, an optional response, optional context
    (earlier turns as ``"role: text"`` lines)."""

    prompt: str
    response: str | None = None
    context: str | None = None


@dataclass
class EncoderBatch:
    """Padded tensors for one encoder call; ``segments`` marks prompt/response/context tokens."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor
    segments: torch.Tensor

    def to(self, device: torch.device | str) -> EncoderBatch:
        return EncoderBatch(
            *(t.to(device, non_blocking=True) for t in (
                self.input_ids, self.attention_mask, self.token_type_ids, self.segments
            ))
        )

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


class InputBuilder:
    """Builds prompt inputs and pair inputs for a batch of :class:`TextInput`."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, policy: TruncationPolicy) -> None:
        self.tokenizer = tokenizer
        self.policy = policy
        self.cls_id = int(tokenizer.cls_token_id)
        self.sep_id = int(tokenizer.sep_token_id)
        self.pad_id = int(tokenizer.pad_token_id)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids without special tokens; one tokenizer call for all ``texts``."""
        if not texts:
            return []
        encoded = self.tokenizer(
            list(texts),
            add_special_tokens=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return [list(ids) for ids in encoded["input_ids"]]

    def build(
        self, examples: Sequence[TextInput], *, prompt: bool = True, pair: bool = True
    ) -> tuple[list[EncodedInput] | None, list[EncodedInput | None] | None]:
        """Prompt inputs (one per example) and pair inputs (None where there is no response)."""
        policy = self.policy
        texts: list[str] = []
        index: dict[str, int] = {}

        def slot(text: str) -> int:
            if text not in index:
                index[text] = len(texts)
                texts.append(text)
            return index[text]

        slots = []
        for ex in examples:
            p = slot(policy.clip_prompt(ex.prompt))
            r = slot(policy.clip_response(ex.response)) if ex.response is not None else None
            context = policy.clip_context(ex.context)
            c = slot(context) if context else None
            slots.append((p, r, c))
        ids = self.tokenize(texts)
        prompt_inputs = pair_inputs = None
        if prompt:
            prompt_inputs = [
                policy.prompt_input(
                    ids[p], ids[c] if c is not None else None, cls_id=self.cls_id, sep_id=self.sep_id
                )
                for p, _, c in slots
            ]
        if pair:
            pair_inputs = [
                policy.pair_input(
                    ids[p],
                    ids[r],
                    ids[c] if c is not None else None,
                    cls_id=self.cls_id,
                    sep_id=self.sep_id,
                )
                if r is not None
                else None
                for p, r, c in slots
            ]
        return prompt_inputs, pair_inputs

    def collate(self, inputs: Sequence[EncodedInput]) -> EncoderBatch:
        """Right-pad to the longest input of the batch."""
        width = max(len(x) for x in inputs)
        shape = (len(inputs), width)
        input_ids = torch.full(shape, self.pad_id, dtype=torch.long)
        attention = torch.zeros(shape, dtype=torch.long)
        types = torch.zeros(shape, dtype=torch.long)
        segments = torch.zeros(shape, dtype=torch.long)
        for row, x in enumerate(inputs):
            n = len(x)
            input_ids[row, :n] = torch.tensor(x.input_ids)
            attention[row, :n] = 1
            types[row, :n] = torch.tensor(x.token_type_ids)
            segments[row, :n] = torch.tensor(x.segments)
        return EncoderBatch(input_ids, attention, types, segments)
