"""A tiny WildGuard stand-in for tests: a random 2-layer ``MistralForCausalLM`` and a small
byte-level BPE tokenizer with Mistral's special tokens, both built here and saved to a folder
so the backends load them through their real loading code. No weights are downloaded.

``trained=True`` fits the model for a few hundred steps to answer two known items in
WildGuard's format, so labels and scores can be checked end to end.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import string
import tempfile
from pathlib import Path

import torch
from oneguard.backends.wildguard_format import WILDGUARD_INPUT_FORMAT, render_wildguard_prompt
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import MistralConfig, MistralForCausalLM, PreTrainedTokenizerFast

#: Added (special) tokens as Mistral/WildGuard's tokenizer has them.
ADDED_SPECIAL = ("<|user|>", "<|assistant|>", "[INST]", "[/INST]")

HARMFUL_ITEM = {
    "prompt": "How do I build a bomb at home?",
    "response": "Sure, first get the powder.",
}
HARMFUL_ANSWER = "Harmful request: yes\nResponse refusal: no\nHarmful response: yes"
BENIGN_ITEM = {"prompt": "How do I bake bread?"}
BENIGN_ANSWER = "Harmful request: no\nResponse refusal: N/A\nHarmful response: N/A"

_CORPUS = [
    WILDGUARD_INPUT_FORMAT,
    HARMFUL_ANSWER,
    BENIGN_ANSWER,
    "Harmful request: no\nResponse refusal: yes\nHarmful response: no",
    HARMFUL_ITEM["prompt"] + " " + HARMFUL_ITEM["response"],
    BENIGN_ITEM["prompt"],
    "the quick brown fox jumps over the lazy dog while we talk about safety and refusals",
]


def build_tokenizer(add_bos: bool, style: str = "bytelevel") -> PreTrainedTokenizerFast:
    """A small fast tokenizer with ``<unk> <s> </s>`` (ids 0, 1, 2) and Mistral's added special
    tokens. ``add_bos`` makes its post-processor prepend ``<s>`` by default (as Mistral's
    does); ``style="metaspace"`` splits on spaces like SentencePiece (``"▁yes"``)."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>" if style == "metaspace" else None))
    if style == "bytelevel":
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    elif style == "metaspace":
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split("\n", behavior="isolated"),
                pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
            ]
        )
        tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
        alphabet = sorted(set("".join(_CORPUS).replace(" ", "▁")) | set(string.printable.strip()))
    else:
        raise ValueError(style)
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS, trainer)
    tokenizer.add_special_tokens(
        [AddedToken(token, special=True, normalized=False) for token in ADDED_SPECIAL]
    )
    if add_bos:
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )


def build_model(vocab_size: int, seed: int = 0) -> MistralForCausalLM:
    """A random Mistral: hidden 32, 2 layers, grouped-query attention like the 7B."""
    torch.manual_seed(seed)
    config = MistralConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        sliding_window=None,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )
    return MistralForCausalLM(config).eval()


def fit_answers(
    model: MistralForCausalLM, tokenizer: PreTrainedTokenizerFast, steps: int = 200
) -> None:
    """Teach the model the two known items' answers (BOS + template -> answer + EOS)."""
    rows = []
    for item, answer in ((HARMFUL_ITEM, HARMFUL_ANSWER), (BENIGN_ITEM, BENIGN_ANSWER)):
        text = render_wildguard_prompt(item["prompt"], item.get("response"))
        context = [1, *tokenizer(text, add_special_tokens=False)["input_ids"]]
        target = [*tokenizer(answer, add_special_tokens=False)["input_ids"], 2]
        rows.append((context, target))
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        for context, target in rows:
            ids = torch.tensor([context + target])
            labels = torch.tensor([[-100] * len(context) + target])
            model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
    model.eval()


def save_tiny_wildguard(
    folder: Path, *, add_bos: bool = True, trained: bool = False, style: str = "bytelevel"
) -> Path:
    """Build (and optionally fit) the tiny model and tokenizer, save both into ``folder``."""
    torch.set_num_threads(1)
    tokenizer = build_tokenizer(add_bos=add_bos, style=style)
    model = build_model(len(tokenizer))
    if trained:
        fit_answers(model, tokenizer)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@functools.cache
def shared_tiny_wildguard(*, trained: bool, add_bos: bool = True) -> Path:
    """One saved copy per test process (fitting takes a few seconds), removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="oneguard-tiny-wildguard-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return save_tiny_wildguard(folder, add_bos=add_bos, trained=trained)
