"""Which items does the cascade's first stage settle, and what would they cost the encoder?

Runs only stage 1 (TF-IDF) over the public suite with a fitted cascade's cut-offs, and counts
the encoder input tokens (prompt pass + pair pass) of the items it settles outright. The
cascade can only save what those items cost:

    python oneguard/benchmarks/cascade_settled_cost.py --cascade build/cascade
"""

from __future__ import annotations

import argparse

from oneguard.backends.cascade import CascadeBackend
from oneguard.eval.suites import load_public_suite
from oneguard.model.encoder import load_tokenizer
from oneguard.model.inputs import InputBuilder, TextInput
from oneguard.model.truncation import TruncationPolicy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cascade", default="build/cascade")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    cascade = CascadeBackend(model=args.cascade, stage2=object())  # stage 2 is never called
    inputs = InputBuilder(load_tokenizer(), TruncationPolicy())
    settled_tokens = total_tokens = 0
    settled = items_seen = 0
    for bench in load_public_suite(args.data_dir):
        items = bench.items()
        first = cascade.stage1.classify_batch(items)
        tokens = inputs.tokenize_examples([TextInput(i.prompt, i.response) for i in items])
        for item, result, tok in zip(items, first, tokens, strict=True):
            cost = len(inputs.prompt_input(tok))
            if tok.response is not None:
                cost += len(inputs.pair_input(tok))
            total_tokens += cost
            items_seen += 1
            if None not in cascade._settled(result, item).values():
                settled_tokens += cost
                settled += 1
    print(
        f"settled {settled}/{items_seen} items ({settled / items_seen:.1%}), holding "
        f"{settled_tokens / total_tokens:.1%} of the encoder's input tokens "
        f"({settled_tokens / max(1, settled):.0f} tokens per settled item, "
        f"{total_tokens / items_seen:.0f} on average)"
    )


if __name__ == "__main__":
    main()
