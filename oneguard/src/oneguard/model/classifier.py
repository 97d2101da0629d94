"""The moderation model: shared encoder + four heads, and batched scoring of texts."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.masking_utils import create_bidirectional_mask

from oneguard.model.encoder import masked_mean
from oneguard.model.heads import HeadConfig, ModerationHeads
from oneguard.model.inputs import EncoderBatch, InputBuilder, TextInput
from oneguard.model.truncation import SEGMENT_PROMPT, SEGMENT_RESPONSE, TruncationPolicy
from oneguard.taxonomy import CATEGORY_CLASSES


@dataclass
class Scores:
    """Probabilities for ``n`` examples; ``response``/``refusal`` are NaN without a response.
    ``category`` rows are distributions over :data:`oneguard.taxonomy.CATEGORY_CLASSES`."""

    prompt: np.ndarray
    response: np.ndarray
    refusal: np.ndarray
    category: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Scores:
        return cls(
            prompt=np.full(n, np.nan, dtype=np.float32),
            response=np.full(n, np.nan, dtype=np.float32),
            refusal=np.full(n, np.nan, dtype=np.float32),
            category=np.full((n, len(CATEGORY_CLASSES)), np.nan, dtype=np.float32),
        )


def _or_cls(mask: torch.Tensor) -> torch.Tensor:
    """``mask`` with [CLS] selected in rows that select nothing (e.g. an empty prompt)."""
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        mask = mask.clone()
        mask[empty, 0] = True
    return mask


def _pool_or_cls(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean; rows with an empty mask fall back to [CLS]."""
    return masked_mean(hidden, _or_cls(mask))


def _max_or_cls(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked max over tokens; rows with an empty mask fall back to [CLS]."""
    keep = _or_cls(mask).unsqueeze(-1)
    return hidden.masked_fill(~keep, torch.finfo(hidden.dtype).min).amax(dim=1)


def length_order(examples: Sequence[TextInput]) -> list[int]:
    """Indices sorted by text length, so batches pad little."""
    return sorted(
        range(len(examples)),
        key=lambda i: len(examples[i].prompt) + len(examples[i].response or ""),
    )


class ModerationModel(nn.Module):
    """MiniLM encoder shared by the prompt-harm, category, response-harm and refusal heads."""

    def __init__(
        self,
        encoder: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        policy: TruncationPolicy,
        head_config: HeadConfig,
    ) -> None:
        super().__init__()
        num_layers = int(encoder.config.num_hidden_layers)
        bad = [i for i in head_config.feature_layers if not 0 <= i <= num_layers]
        if bad:
            raise ValueError(f"feature_layers {bad} outside 0..{num_layers}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.policy = policy
        self.head_config = head_config
        self.inputs = InputBuilder(tokenizer, policy)
        self.feature_width = int(encoder.config.hidden_size) * len(head_config.feature_layers)
        self.heads = ModerationHeads(self.feature_width, head_config)
        self._last_only = head_config.feature_layers == (num_layers,)

    @property
    def device(self) -> torch.device:
        return next(self.heads.parameters()).device

    # ---- features -----------------------------------------------------------------------
    def _hidden_states(self, batch: EncoderBatch) -> list[torch.Tensor]:
        out = self.encoder(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            token_type_ids=batch.token_type_ids,
            output_hidden_states=not self._last_only,
        )
        if self._last_only:
            return [out.last_hidden_state]
        return [out.hidden_states[i] for i in self.head_config.feature_layers]

    def prompt_features(self, batch: EncoderBatch) -> torch.Tensor:
        """(B, d): mean over the judged prompt's tokens, per feature layer, concatenated."""
        return self.pool_prompt(self._hidden_states(batch), batch.segments)

    def pair_features(self, batch: EncoderBatch) -> torch.Tensor:
        """(B, 2d): mean over prompt+response tokens, then mean over response tokens; (B, 3d)
        with the response tokens' max after them when the heads read it."""
        return self.pool_pair(self._hidden_states(batch), batch.segments)

    @staticmethod
    def pool_prompt(hidden: Sequence[torch.Tensor], segments: torch.Tensor) -> torch.Tensor:
        mask = segments == SEGMENT_PROMPT
        return torch.cat([_pool_or_cls(h, mask) for h in hidden], dim=-1)

    def pool_pair(self, hidden: Sequence[torch.Tensor], segments: torch.Tensor) -> torch.Tensor:
        judged = (segments == SEGMENT_PROMPT) | (segments == SEGMENT_RESPONSE)
        response = segments == SEGMENT_RESPONSE
        parts = [_pool_or_cls(h, judged) for h in hidden] + [
            _pool_or_cls(h, response) for h in hidden
        ]
        if self.head_config.pools_max:
            parts += [_max_or_cls(h, response) for h in hidden]
        return torch.cat(parts, dim=-1)

    # ---- the encoder split in two, for a top-layer fine-tune on cached lower states --------
    # torch types submodule attributes as ``Tensor | Module``; these name the BERT parts.
    def encoder_embeddings(self) -> nn.Module:
        return cast(nn.Module, self.encoder.embeddings)

    def encoder_layers(self) -> nn.ModuleList:
        return cast(nn.ModuleList, cast(nn.Module, self.encoder.encoder).layer)

    def _layer_mask(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        return create_bidirectional_mask(
            config=self.encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
        )

    def states_below(self, batch: EncoderBatch, layer: int) -> torch.Tensor:
        """(B, T, D) hidden state after the first ``layer`` encoder layers (0: embeddings)."""
        hidden = self.encoder_embeddings()(
            input_ids=batch.input_ids, token_type_ids=batch.token_type_ids
        )
        mask = self._layer_mask(hidden, batch.attention_mask)
        for block in self.encoder_layers()[:layer]:
            hidden = block(hidden, mask)
        return hidden

    def feature_states_from(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, layer: int
    ) -> list[torch.Tensor]:
        """The feature layers' states, running the encoder on from ``hidden`` (the state after
        ``layer`` layers); every feature layer must be >= ``layer``."""
        wanted = self.head_config.feature_layers
        if min(wanted) < layer:
            raise ValueError(f"feature layers {wanted} lie below the cached layer {layer}")
        states = {layer: hidden}
        mask = self._layer_mask(hidden, attention_mask)
        for index in range(layer, max(wanted)):
            hidden = self.encoder_layers()[index](hidden, mask)
            states[index + 1] = hidden
        return [states[i] for i in wanted]

    # ---- batched inference --------------------------------------------------------------
    def iter_features(
        self, examples: Sequence[TextInput], batch_size: int, *, prompt: bool, pair: bool
    ) -> Iterator[tuple[list[int], torch.Tensor | None, list[int], torch.Tensor | None]]:
        """Yield ``(indices, prompt_features, pair_indices, pair_features)`` per length-sorted
        batch; pair features exist only for examples with a response."""
        order = length_order(examples)
        device = self.device
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            toks = self.inputs.tokenize_examples([examples[i] for i in chunk])
            prompt_feats = pair_feats = None
            pair_idx: list[int] = []
            if prompt:
                batch = self.inputs.collate([self.inputs.prompt_input(t) for t in toks])
                prompt_feats = self.prompt_features(batch.to(device))
            if pair:
                present = [j for j, t in enumerate(toks) if t.response is not None]
                pair_idx = [chunk[j] for j in present]
                if present:
                    batch = self.inputs.collate([self.inputs.pair_input(toks[j]) for j in present])
                    pair_feats = self.pair_features(batch.to(device))
            yield chunk, prompt_feats, pair_idx, pair_feats

    @torch.inference_mode()
    def score(self, examples: Sequence[TextInput], batch_size: int = 32) -> Scores:
        """Probabilities for every example (eval mode is the caller's job)."""
        scores = Scores.empty(len(examples))
        for chunk, prompt_feats, pair_idx, pair_feats in self.iter_features(
            examples, batch_size, prompt=True, pair=True
        ):
            assert prompt_feats is not None
            prompt_logit, category_logits = self.heads.from_prompt(prompt_feats.float())
            scores.prompt[chunk] = torch.sigmoid(prompt_logit).cpu().numpy()
            scores.category[chunk] = torch.softmax(category_logits, dim=-1).cpu().numpy()
            if pair_feats is not None:
                response_logit, refusal_logit = self.heads.from_pair(pair_feats.float())
                scores.response[pair_idx] = torch.sigmoid(response_logit).cpu().numpy()
                scores.refusal[pair_idx] = torch.sigmoid(refusal_logit).cpu().numpy()
        return scores

    def quantize_int8(self) -> None:
        """Dynamic int8 quantisation of the encoder's linear layers (CPU inference only).

        torch marks eager-mode quantisation deprecated in favour of torchao (not a
        dependency); it still works, so its deprecation notices are silenced here."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            self.encoder = torch.ao.quantization.quantize_dynamic(
                self.encoder, {nn.Linear}, dtype=torch.qint8
            )
