"""Map OneGuard verdicts onto OpenAI's moderation categories.

OpenAI's 13 categories and WildGuard's 13 subcategories cut harm differently. A category is
mapped only where the meaning carries over; the score of an OpenAI category is the prompt-harm
probability times the largest probability among its mapped subcategories.

==========================================================  ===================================
OneGuard subcategory                                        OpenAI categories
==========================================================  ===================================
toxic_language_hate_speech                                  harassment, hate
social_stereotypes_and_unfair_discrimination                hate
violence_and_physical_harm                                  violence, illicit/violent
sexual_content                                              sexual
mental_health_over-reliance_crisis                          self-harm
cyberattack, fraud_assisting_illegal_activities             illicit
privacy, misinformation, copyright, defamation, others      (none: ``flagged`` only)
==========================================================  ===================================

No faithful counterpart (always false, score 0): harassment/threatening, hate/threatening,
self-harm/instructions, self-harm/intent, sexual/minors, violence/graphic. ``flagged`` is the
policy's prompt verdict, so it is true for every harmful text, mapped or not.
"""

from __future__ import annotations

from oneguard.schema import Result

OPENAI_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

SUBCATEGORY_TO_OPENAI: dict[str, tuple[str, ...]] = {
    "toxic_language_hate_speech": ("harassment", "hate"),
    "social_stereotypes_and_unfair_discrimination": ("hate",),
    "violence_and_physical_harm": ("violence", "illicit/violent"),
    "sexual_content": ("sexual",),
    "mental_health_over-reliance_crisis": ("self-harm",),
    "cyberattack": ("illicit",),
    "fraud_assisting_illegal_activities": ("illicit",),
}


def openai_category_scores(result: Result) -> dict[str, float]:
    """Score per OpenAI category: P(harmful prompt) x max P(mapped subcategory)."""
    scores = dict.fromkeys(OPENAI_CATEGORIES, 0.0)
    harm = result.prompt_harmfulness_score
    if harm is None:
        harm = 1.0 if result.prompt_harmfulness == "harmful" else 0.0
    for subcategory, p in (result.category_scores or {}).items():
        for name in SUBCATEGORY_TO_OPENAI.get(subcategory, ()):
            scores[name] = max(scores[name], harm * p)
    return scores


def openai_categories(result: Result, flagged: bool) -> dict[str, bool]:
    """True for the OpenAI categories of the predicted subcategory when the text is flagged."""
    mapped = SUBCATEGORY_TO_OPENAI.get(result.category or "", ()) if flagged else ()
    return {name: name in mapped for name in OPENAI_CATEGORIES}
