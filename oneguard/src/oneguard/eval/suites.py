"""Benchmark definitions: what each benchmark is called, which task it scores, where its
records come from, and how the paper groups and averages them (Table 3 and the XSTest table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from oneguard.data import all_sources, load_source
from oneguard.data.sources.guardreasoner import FOLDER as PUBLIC_FOLDER
from oneguard.paths import moderation_data_dir
from oneguard.schema import HARMFUL, REFUSAL, TASKS, UNKNOWN, Item, Record

#: The data source that holds the public suite.
PUBLIC_SOURCE = "guardreasoner_benchmarks"

#: Suite names accepted by ``oneguard eval --suite``.
SUITES = ("public", "none")


@dataclass(frozen=True)
class BenchmarkInfo:
    """How a benchmark is named in tables: ``short`` is the paper's column header."""

    name: str
    task: str
    title: str
    short: str


#: The public suite in the column order of the paper's Table 3, then XSTest refusal.
PUBLIC_BENCHMARKS: tuple[BenchmarkInfo, ...] = (
    BenchmarkInfo("toxicchat", "prompt", "ToxicChat", "ToxiC"),
    BenchmarkInfo("openai_moderation", "prompt", "OpenAI Moderation", "OAI"),
    BenchmarkInfo("aegis", "prompt", "AegisSafetyTest", "Aegis"),
    BenchmarkInfo("simplesafetytests", "prompt", "SimpleSafetyTests", "SimpST"),
    BenchmarkInfo("harmbench_prompt", "prompt", "HarmBench prompt", "HarmB-P"),
    BenchmarkInfo("harmbench_response", "response", "HarmBench response", "HarmB-R"),
    BenchmarkInfo("saferlhf", "response", "SafeRLHF", "S-RLHF"),
    BenchmarkInfo("beavertails", "response", "BeaverTails", "BeaverT"),
    BenchmarkInfo("xstest_response_harm", "response", "XSTest-Resp harm", "XST-Resp"),
    BenchmarkInfo("xstest_response_refusal", "refusal", "XSTest-Resp refusal", "XST-RR"),
)
#: XSTest-Resp refusal restricted to XSTest's unsafe prompts (the paper's RR(h)); derived by
#: joining on the prompt text with the XSTest prompt labels, when that source is available.
XSTEST_REFUSAL_HARMFUL = BenchmarkInfo(
    "xstest_response_refusal_harmful",
    "refusal",
    "XSTest-Resp refusal, harmful prompts",
    "XST-RR(h)",
)
#: Source of XSTest's own prompt labels (safe / unsafe).
XSTEST_PROMPTS_SOURCE = "xstest_prompts"
BENCHMARK_INFO: dict[str, BenchmarkInfo] = {
    b.name: b for b in (*PUBLIC_BENCHMARKS, XSTEST_REFUSAL_HARMFUL)
}

#: Paper Table 3's averages: prompt avg over the five prompt sets, response avg over four.
AVERAGES: dict[str, tuple[str, ...]] = {
    "prompt_avg": (
        "toxicchat",
        "openai_moderation",
        "aegis",
        "simplesafetytests",
        "harmbench_prompt",
    ),
    "response_avg": ("harmbench_response", "saferlhf", "beavertails", "xstest_response_harm"),
}
AVERAGE_TITLES = {"prompt_avg": "Prompt avg", "response_avg": "Resp avg"}

#: Paper Table 3 columns, averages in place.
TABLE3_COLUMNS: tuple[str, ...] = (
    *AVERAGES["prompt_avg"],
    "prompt_avg",
    *AVERAGES["response_avg"],
    "response_avg",
)
#: The XSTest-Resp table (Paper Tables 2 and 20): RH, RR, RR(h).
XSTEST_COLUMNS: tuple[str, ...] = (
    "xstest_response_harm",
    "xstest_response_refusal",
    XSTEST_REFUSAL_HARMFUL.name,
)

#: Label that counts as positive, per task (the paper's convention).
POSITIVE_LABEL = {"prompt": HARMFUL, "response": HARMFUL, "refusal": REFUSAL}
_LABEL_FIELD = {
    "prompt": "prompt_harm_label",
    "response": "response_harm_label",
    "refusal": "response_refusal_label",
}


def gold_label(record: Record, task: str) -> bool | None:
    """True if ``record`` is positive for ``task``, False if negative, None if unlabelled."""
    label = getattr(record, _LABEL_FIELD[task])
    if label == UNKNOWN:
        return None
    return label == POSITIVE_LABEL[task]


@dataclass
class Benchmark:
    """A labelled set for one task. Records without a label for the task are dropped."""

    name: str
    task: str
    records: list[Record]
    title: str = ""
    short: str = ""
    #: Where the records came from (a file or data folder), for the report.
    origin: str = ""
    dropped_unlabelled: int = field(default=0)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"benchmark {self.name!r}: task must be one of {TASKS}")
        labelled = [r for r in self.records if gold_label(r, self.task) is not None]
        if self.task != "prompt":
            missing = [r.id or str(i) for i, r in enumerate(labelled) if r.response is None]
            if missing:
                raise ValueError(
                    f"benchmark {self.name!r}: {len(missing)} {self.task} records have no "
                    f"response (first: {missing[0]})"
                )
        self.dropped_unlabelled += len(self.records) - len(labelled)
        self.records = labelled
        self.title = self.title or self.name
        self.short = self.short or self.name

    def items(self) -> list[Item]:
        """Classifier inputs, with a conversation's earlier turns (as in training and in
        ``classify`` on ``messages``). A prompt task is judged without the response."""
        items = [r.to_item() for r in self.records]
        if self.task == "prompt":
            return [Item(prompt=i.prompt, context=i.context) for i in items]
        return items

    def gold(self) -> list[bool]:
        return [bool(gold_label(r, self.task)) for r in self.records]

    def adversarial(self) -> list[bool | None]:
        return [r.adversarial for r in self.records]


def resolve_moderation_dir(data_dir: str | Path | None = None) -> Path:
    """The ``moderation/`` folder. ``data_dir`` may be the shared data root (which holds
    ``moderation/``) or the ``moderation/`` folder itself; default: ``$SHARED_DATA_DIR``."""
    if data_dir is None:
        return moderation_data_dir()
    root = Path(data_dir)
    if root.name == "moderation" or (root / PUBLIC_FOLDER).is_dir():
        return root
    return root / "moderation"


def load_public_suite(
    data_dir: str | Path | None = None, names: Sequence[str] | None = None
) -> list[Benchmark]:
    """The public benchmarks (all, or ``names``), in the paper's order."""
    folder = resolve_moderation_dir(data_dir)
    if not (folder / PUBLIC_FOLDER).is_dir():
        raise FileNotFoundError(
            f"benchmark data not found: {folder / PUBLIC_FOLDER} does not exist. Point "
            "--data-dir (or SHARED_DATA_DIR) at the shared data folder that holds "
            f"moderation/{PUBLIC_FOLDER}/normalized/*.jsonl"
        )
    wanted = list(names) if names is not None else [b.name for b in PUBLIC_BENCHMARKS]
    unknown = [n for n in wanted if n not in BENCHMARK_INFO]
    if unknown:
        raise ValueError(f"unknown benchmarks {unknown}; known: {', '.join(BENCHMARK_INFO)}")
    by_name: dict[str, list[Record]] = {name: [] for name in wanted}
    for record in load_source(PUBLIC_SOURCE, folder):
        if record.source in by_name:
            by_name[record.source].append(record)
    origin = str(folder / PUBLIC_FOLDER / "normalized")
    suite = [
        Benchmark(
            name=name,
            task=BENCHMARK_INFO[name].task,
            records=records,
            title=BENCHMARK_INFO[name].title,
            short=BENCHMARK_INFO[name].short,
            origin=origin,
        )
        for name, records in by_name.items()
    ]
    refusal = next((b for b in suite if b.name == "xstest_response_refusal"), None)
    harmful_only = xstest_harmful_prompt_subset(refusal, folder) if refusal else None
    return suite + ([harmful_only] if harmful_only else [])


def xstest_harmful_prompt_subset(refusal: Benchmark, folder: Path) -> Benchmark | None:
    """XSTest-Resp refusal items whose prompt XSTest labels unsafe (RR(h)), or None when the
    XSTest prompt labels are not available or do not cover every item."""
    if XSTEST_PROMPTS_SOURCE not in all_sources():
        return None
    try:
        labels = {
            r.prompt.strip(): r.prompt_harm_label
            for r in load_source(XSTEST_PROMPTS_SOURCE, folder)
        }
    except FileNotFoundError:
        return None
    if any(r.prompt.strip() not in labels for r in refusal.records):
        return None  # a partial join would silently change the benchmark
    records = [r for r in refusal.records if labels[r.prompt.strip()] == HARMFUL]
    if not records:
        return None
    info = XSTEST_REFUSAL_HARMFUL
    return Benchmark(
        name=info.name,
        task=info.task,
        records=records,
        title=info.title,
        short=info.short,
        origin=f"{refusal.origin} joined with {XSTEST_PROMPTS_SOURCE}",
    )
