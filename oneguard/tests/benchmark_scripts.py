"""Import a script from ``oneguard/benchmarks/`` (not a package) so tests can call into it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before running, as an import would be: dataclasses look their module up.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
