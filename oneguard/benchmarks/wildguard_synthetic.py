"""A WildGuard-shaped model for speed measurements without the weights: Mistral-7B-v0.3's
architecture with random bf16 weights, a word-level tokenizer over the same 32768 ids, and
synthetic items with realistic lengths. Random weights decide nothing about quality; they cost
exactly what the real model costs per token, which is what a speed benchmark measures.

Used by ``gpu_wildguard_7b.py`` (GPU throughput) and ``bench_speed.py`` (CPU: 7B vs embedded).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

import torch
from oneguard.backends.wildguard_format import ANSWER_LINES, WILDGUARD_INPUT_FORMAT
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
from transformers import MistralConfig, MistralForCausalLM, PreTrainedTokenizerFast

#: mistralai/Mistral-7B-v0.3 (WildGuard's base model), written out: nothing is downloaded.
MISTRAL_7B_V03 = {
    "vocab_size": 32768,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 32768,
    "rope_theta": 1_000_000.0,
    "sliding_window": None,
    "rms_norm_eps": 1e-5,
    "hidden_act": "silu",
    "tie_word_embeddings": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
#: The same shape scaled down, to check the scripts on a CPU in seconds.
TINY = {
    **MISTRAL_7B_V03,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
}
CONFIGS = {"7b": MISTRAL_7B_V03, "tiny": TINY}

#: Tokens per English word for Mistral's SentencePiece tokenizer (typical prose); synthetic
#: texts emit this many word-level tokens per "word" so token counts match real inputs.
TOKENS_PER_WORD = 1.3

_SPECIAL = ["<unk>", "<s>", "</s>", "[INST]", "[/INST]"]  # ids 0-4 as in Mistral v0.3
_ADDED = ["<|user|>", "<|assistant|>"]
_PIECE = re.compile(r"\w+|[^\w\s]")


def mistral_config(name: str) -> MistralConfig:
    return MistralConfig(**CONFIGS[name])


def parameter_count(config: MistralConfig) -> int:
    """Parameters of a MistralForCausalLM with ``config`` (no model needed)."""
    hidden, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    head_dim = config.head_dim or hidden // config.num_attention_heads
    attention = (
        hidden * head_dim * (2 * config.num_attention_heads + 2 * config.num_key_value_heads)
    )
    per_layer = attention + 3 * hidden * inter + 2 * hidden
    return 2 * config.vocab_size * hidden + layers * per_layer + hidden


def build_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """Word-level fast tokenizer with Mistral's special ids, the template's words, and filler
    words ``w5 w6 ...`` up to ``vocab_size`` ids (so the embedding and LM head are full size)."""
    words: list[str] = []
    answer_text = " ".join(f"{label}: yes no N/A" for _, label, *_ in ANSWER_LINES)
    for text in (
        WILDGUARD_INPUT_FORMAT.replace("{prompt}", "").replace("{response}", ""),
        answer_text,
    ):
        for piece in _PIECE.findall(text):
            if piece not in words and piece not in _SPECIAL:
                words.append(piece)
    vocab = {token: i for i, token in enumerate(_SPECIAL)}
    for word in words:
        vocab[word] = len(vocab)
    filler = 0
    while len(vocab) < vocab_size - len(_ADDED):
        vocab[f"w{filler}"] = len(vocab)
        filler += 1
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in _SPECIAL])
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in _ADDED])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )


def _dtype_kwarg() -> str:
    import transformers

    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def build_random_model(
    name: str, device: str, dtype: torch.dtype = torch.bfloat16, *, fast_fill: bool = False
) -> MistralForCausalLM:
    """Random weights, created directly in ``dtype`` on ``device`` (no fp32 copy: 7B in bf16
    is ~14.5 GB; in fp32 it would be ~29 GB).

    ``fast_fill`` (for CPUs, where initialising 7B values one by one takes minutes): build the
    model on the meta device, allocate it empty, and fill every matrix by tiling one block of
    N(0, 0.02) values (norm weights 1); the cost per token is the same as with i.i.d. weights.
    """
    torch.manual_seed(0)
    config = mistral_config(name)
    if not fast_fill:
        with torch.device(device):
            model = MistralForCausalLM._from_config(config, **{_dtype_kwarg(): dtype})
        return model.eval()
    with torch.device("meta"):
        model = MistralForCausalLM._from_config(config, **{_dtype_kwarg(): dtype})
    model = model.to_empty(device=device)
    pool = (torch.randn((1 << 24) + 7) * 0.02).to(device=device, dtype=dtype)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 1:
                param.fill_(1.0)
                continue
            flat = param.view(-1)
            for start in range(0, flat.numel(), pool.numel()):
                count = min(pool.numel(), flat.numel() - start)
                flat[start : start + count].copy_(pool[:count])
    # to_empty left the non-persistent rotary buffers uninitialised: rebuild that module.
    rotary = model.model.rotary_emb
    with torch.device(device):
        model.model.rotary_emb = type(rotary)(config=config)
    for buffer_name, buffer in model.named_buffers():
        if not torch.isfinite(buffer).all():
            raise RuntimeError(f"buffer {buffer_name} is not initialised")
    return model.eval()


@dataclass(frozen=True)
class SyntheticItem:
    prompt: str
    response: str | None

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"prompt": self.prompt}
        if self.response is not None:
            item["response"] = self.response
        return item


def _text(rng: random.Random, words: int, filler_words: int) -> str:
    count = round(words * TOKENS_PER_WORD)
    out = []
    for i in range(count):
        out.append(f"w{rng.randrange(filler_words)}")
        if i % 17 == 16:
            out.append(".")
    return " ".join(out)


def synthetic_items(
    n: int,
    *,
    seed: int = 0,
    prompt_words: tuple[int, int] = (50, 300),
    response_words: tuple[int, int] = (100, 300),
    prompt_only_share: float = 0.25,
    filler_words: int = 30_000,
) -> list[SyntheticItem]:
    """``n`` items: prompts of ``prompt_words`` words, responses of ``response_words`` words,
    a quarter prompt-only (as in WildGuardTest's prompt task)."""
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        prompt = _text(rng, rng.randint(*prompt_words), filler_words)
        response = None
        if rng.random() >= prompt_only_share:
            response = _text(rng, rng.randint(*response_words), filler_words)
        items.append(SyntheticItem(prompt, response))
    return items


def input_lengths(backend: Any, items: list[SyntheticItem]) -> list[int]:
    """Tokens the model reads for each item (BOS + template + inputs)."""
    return [len(backend.encoder.encode(i.prompt, i.response).input_ids) for i in items]
