"""The generated copyright requests: both sides of every work, labels by construction."""

from __future__ import annotations

from collections import defaultdict

from oneguard.data.registry import load_source
from oneguard.data.sources.copyright_requests import (
    CATEGORY,
    PUBLIC_DOMAIN,
    TEMPLATES,
    all_works,
    generate,
)
from oneguard.schema import HARMFUL, UNHARMFUL
from oneguard.taxonomy import BENIGN, CATEGORY_CLASSES


def test_loads_without_any_data_folder(tmp_path) -> None:
    records = load_source("copyright_requests", data_dir=tmp_path / "absent")
    assert records == list(generate())


def test_every_protected_work_is_asked_for_both_ways() -> None:
    sides: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in generate():
        sides[(record.split, record.id.split(":", 3)[3])].add(record.prompt_harm_label)
    public = {title for title, _ in PUBLIC_DOMAIN}
    for kind, title, _ in all_works():
        expected = {UNHARMFUL} if kind == "public_domain" else {HARMFUL, UNHARMFUL}
        assert sides[(kind, title)] == expected, (kind, title)
        assert (kind == "public_domain") == (title in public)


def test_labels_follow_the_taxonomy() -> None:
    assert CATEGORY in CATEGORY_CLASSES
    for record in generate():
        assert record.adversarial is False and record.annotation == "rule"
        assert record.response is None
        if record.prompt_harm_label == HARMFUL:
            assert record.subcategory == CATEGORY
        else:
            assert record.prompt_harm_label == UNHARMFUL and record.subcategory == BENIGN
        assert "{" not in record.prompt, record.prompt  # every slot filled


def test_deterministic_and_seeded() -> None:
    first = [(r.id, r.prompt) for r in generate(seed=0)]
    assert first == [(r.id, r.prompt) for r in generate(seed=0)]
    assert len({i for i, _ in first}) == len(first)
    assert first != [(r.id, r.prompt) for r in generate(seed=1)]


def test_per_work_bounds_the_templates_drawn() -> None:
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for record in generate(per_work=2):
        counts[(record.split, record.id.split(":", 3)[3], record.prompt_harm_label)] += 1
    assert set(counts.values()) == {2}
    assert all(len(t) >= 2 for kinds in TEMPLATES.values() for t in kinds.values())
