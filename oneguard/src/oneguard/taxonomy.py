"""WildGuard's risk taxonomy: 13 subcategories in 4 groups, plus ``others`` and ``benign``.

Keys are the ``subcategory`` values of WildGuardMix (as safety-eval reports them), so data
and results line up with WildGuard's own files. The explicit tables that map each data
source's own taxonomy onto these keys are at the end of this module.
"""

from __future__ import annotations

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
    Subcategory("sensitive_information_organization_government", "Sensitive Information (Organization)", "Privacy"),
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
        "fraud_assisting_illegal_activities", "Fraud & Assisting Illegal Activities", "Malicious Uses"
    ),
    Subcategory(
        "defamation_encouraging_unethical_or_unsafe_actions",
        "Encouraging Unethical/Unsafe Actions",
        "Malicious Uses",
    ),
    Subcategory(
        "mental_health_over-reliance_crisis", "Mental Health & Over-Reliance Crisis", "Malicious Uses"
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
