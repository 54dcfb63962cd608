"""Lazy public exports of a package (PEP 562): each exported name is imported from its
module on first use, so importing the package stays cheap (no pandas, statsmodels or
matplotlib until a name needs them). Shared by ``evaluation_pipeline``,
``evaluation_pipeline.analysis`` and ``evaluation_pipeline.report``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module


def lazy_exports(package: str, exports: dict[str, str]
                 ) -> tuple[list[str], Callable[[str], object], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package`` whose public names are the keys of
    ``exports`` (name -> the module, relative to ``package``, that defines it). A resolved
    name is cached in the package's namespace."""

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return sorted(exports), __getattr__, __dir__
