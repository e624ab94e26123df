"""The test suite's servers, distributions and HTTP relay, loaded by file path.

``tests`` is not a package on ``sys.path`` when the benchmarks run (and a stray ``tests`` package in
site-packages could shadow it), so the four modules are loaded from their files. They are reused, never
edited: the benchmarks measure against the same pypiserver, the same kind of distributions and through
the same relay (tests/support/proxy.py, with no fault set) as the tests.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]
_SUPPORT = REPO_ROOT / "tests" / "support"


def _load(name: str) -> ModuleType:
    module_name = f"_benchmarks_support_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = _SUPPORT / f"{name}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered before executing: dataclasses look their module up in sys.modules.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


servers = _load("servers")
dists = _load("dists")
proxy = _load("proxy")
tls = _load("tls")
