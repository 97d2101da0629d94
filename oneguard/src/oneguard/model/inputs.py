"""Turn texts into padded encoder batches, following the :mod:`truncation` policy.

Texts are tokenised once (one fast-tokenizer call over every distinct text of a batch, or of
a whole training set) and kept as compact id arrays cut to what the policy can use; the
window layout (special tokens, budgets, context) is then assembled from ids. The same code
serves training, inference and feature caching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerBase

from oneguard.model.truncation import EncodedInput, TruncationPolicy


@dataclass(frozen=True)
class TextInput:
    """The texts of one example: the judged prompt, an optional response, optional context
    (earlier turns as ``"role: text"`` lines)."""

    prompt: str
    response: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class TokenizedInput:
    """Token ids (no special tokens) of one example, already cut to what the policy can use:
    the prompt's start, the response's start and end, the context's end."""

    prompt: np.ndarray
    response: np.ndarray | None = None
    context: np.ndarray | None = None


@dataclass
class EncoderBatch:
    """Padded tensors for one encoder call; ``segments`` marks prompt/response/context tokens."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor
    segments: torch.Tensor

    def to(self, device: torch.device | str) -> EncoderBatch:
        return EncoderBatch(
            self.input_ids.to(device, non_blocking=True),
            self.attention_mask.to(device, non_blocking=True),
            self.token_type_ids.to(device, non_blocking=True),
            self.segments.to(device, non_blocking=True),
        )

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


class InputBuilder:
    """Tokenises :class:`TextInput` and lays out prompt and pair inputs."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, policy: TruncationPolicy) -> None:
        self.policy = policy
        # A private copy of the Rust tokenizer without the truncation/padding that
        # tokenizer.json configures: the policy, not the tokenizer, decides what is cut.
        self._tokenizer = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.cls_id = int(tokenizer.cls_token_id)
        self.sep_id = int(tokenizer.sep_token_id)
        self.pad_id = int(tokenizer.pad_token_id)

    def tokenize(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids without special tokens; one (parallel) tokenizer call for all ``texts``."""
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [np.asarray(e.ids, dtype=np.int32) for e in encodings]

    def tokenize_examples(self, examples: Sequence[TextInput]) -> list[TokenizedInput]:
        policy = self.policy
        limit = policy.max_length
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
        out = []
        for p, r, c in slots:
            response = None
            if r is not None:
                response = ids[r]
                if len(response) > 2 * limit:
                    response = np.concatenate([response[:limit], response[-limit:]])
            context_ids = ids[c][-limit:] if c is not None else None
            out.append(TokenizedInput(ids[p][:limit], response, context_ids))
        return out

    def prompt_input(self, tok: TokenizedInput) -> EncodedInput:
        return self.policy.prompt_input(
            tok.prompt.tolist(),
            tok.context.tolist() if tok.context is not None else None,
            cls_id=self.cls_id,
            sep_id=self.sep_id,
        )

    def pair_input(self, tok: TokenizedInput) -> EncodedInput:
        if tok.response is None:
            raise ValueError("pair input needs a response")
        return self.policy.pair_input(
            tok.prompt.tolist(),
            tok.response.tolist(),
            tok.context.tolist() if tok.context is not None else None,
            cls_id=self.cls_id,
            sep_id=self.sep_id,
        )

    def collate(self, inputs: Sequence[EncodedInput]) -> EncoderBatch:
        """Right-pad to the longest input of the batch."""
        width = max(len(x) for x in inputs)
        shape = (len(inputs), width)
        input_ids = np.full(shape, self.pad_id, dtype=np.int64)
        attention = np.zeros(shape, dtype=np.int64)
        types = np.zeros(shape, dtype=np.int64)
        segments = np.zeros(shape, dtype=np.int64)
        for row, x in enumerate(inputs):
            n = len(x)
            input_ids[row, :n] = x.input_ids
            attention[row, :n] = 1
            types[row, :n] = x.token_type_ids
            segments[row, :n] = x.segments
        return EncoderBatch(
            torch.from_numpy(input_ids),
            torch.from_numpy(attention),
            torch.from_numpy(types),
            torch.from_numpy(segments),
        )
