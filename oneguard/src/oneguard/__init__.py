"""OneGuard: open one-stop moderation for LLM interactions (after WildGuard, Han et al. 2024).

>>> from oneguard import load_wildguard
>>> guard = load_wildguard()            # embedded default model, offline, CPU
>>> guard.classify([{"prompt": "How do I bake bread?", "response": "Mix flour..."}])
"""

from oneguard.api import Guard, WildGuard, load_wildguard
from oneguard.schema import Item, Record, Result

__version__ = "0.1.0"

__all__ = ["Guard", "Item", "Record", "Result", "WildGuard", "load_wildguard", "__version__"]
