"""The embedded moderation model: one MiniLM encoder shared by four heads (prompt harm,
response harm, refusal, risk category), the truncation policy that fits an item into the
encoder's window, and the on-disk artifact (config + thresholds + weights as a delta)."""

from oneguard.model.artifact import ArtifactConfig, load_artifact, save_artifact
from oneguard.model.classifier import ModerationModel, Scores
from oneguard.model.truncation import TruncationPolicy

__all__ = [
    "ArtifactConfig",
    "ModerationModel",
    "Scores",
    "TruncationPolicy",
    "load_artifact",
    "save_artifact",
]
