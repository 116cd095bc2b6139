"""Modules callable as their main function: `sd.ingest(...)`, `sd.evaluate(...)`, `sd.split(...)`.

Why: the top-level API names functions after the modules that hold them. A top-level function called
`ingest` would be replaced by the package `synthdata.ingest` the moment anything imports that package
(Python sets a package's attribute to each submodule it loads), and shadowing the package with the
function would break `import synthdata.ingest.api as m`. So the module stays the attribute and is made
callable: calling it calls its function; in every other way it is an ordinary module.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose call is its function named `_call_target` (looked up per call, so it may be lazy)."""

    _call_target: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self._call_target)(*args, **kwargs)


def make_callable(module_name: str, function: str) -> None:
    """Let the module `module_name` (usually the caller's `__name__`) be called as its `function`."""
    module = sys.modules[module_name]
    module.__class__ = CallableModule
    module._call_target = function  # type: ignore[attr-defined]
