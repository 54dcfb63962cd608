"""Results kept on disk by the content of what they were computed from.

A pipeline re-run (a new survey wave, the nightly schedule, a notebook) recomputes results whose
inputs did not change: the validation report of the same rows, the survey contrasts between
waves that are already there. :class:`DiskCache` keeps such results as files named by a digest
of everything they depend on -- the rows (:func:`frame_digest`), the settings, and the source
of the code that computes them (:func:`source_digest`) -- so a changed row, setting or piece of
code misses the cache and computes anew.

Own code, not ``joblib.Memory``: joblib keys a call by its arguments and by the source of the
cached function only, so a change in a function it calls would return stale results; and it
hashes a data frame by pickling it, where :func:`frame_digest` hashes the column values with
pandas' vectorised row hashes. What is kept are pickles, written atomically; a file that
cannot be read (absent, truncated, written by another version) is a miss, and a cache that
cannot be written costs time, not correctness.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd


def frame_digest(df: pd.DataFrame, *, index: bool = False) -> bytes:
    """SHA-256 of a frame's values (row by row, in order), column names and dtypes; with
    ``index`` also of its index. Raises ``TypeError`` for cells pandas cannot hash."""
    h = hashlib.sha256(pd.util.hash_pandas_object(df, index=index).to_numpy().tobytes())
    h.update(repr((tuple(map(str, df.columns)), tuple(map(str, df.dtypes)))).encode())
    return h.digest()


def source_digest(*modules: ModuleType, packages: Iterable[str] = ()) -> bytes:
    """SHA-256 of the source of ``modules`` and the installed versions of ``packages``."""
    from importlib import metadata

    h = hashlib.sha256()
    for module in modules:
        h.update(inspect.getsource(module).encode())
    for name in packages:
        try:
            h.update(f"{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name} (absent)".encode())
    return h.digest()


class DiskCache:
    """Pickled results in ``folder``, one file ``<prefix>-<key>.pickle`` per key (a hex
    digest). ``keep``: how many files of this prefix are kept (the newest by use)."""

    def __init__(self, folder: Path | str, prefix: str, *, keep: int = 32) -> None:
        self.folder = Path(folder)
        self.prefix = prefix
        self.keep = keep

    def path(self, key: str) -> Path:
        return self.folder / f"{self.prefix}-{key}.pickle"

    def get(self, key: str, kind: type | tuple[type, ...] = object) -> Any | None:
        """The result kept under ``key`` if it is an instance of ``kind``, else None."""
        path = self.path(key)
        try:
            with path.open("rb") as fh:
                value = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError,
                ValueError, ImportError, IndexError):
            return None  # absent, or written by another version: compute again
        if not isinstance(value, kind):
            return None
        try:
            os.utime(path)  # used: the newest are kept
        except OSError:
            pass
        return value

    def put(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key`` (atomically), then remove the oldest files beyond
        ``keep``."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{self.prefix}-",
                                       suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.path(key))
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            self.prune()
        except OSError as err:
            warnings.warn(f"could not keep a result in {self.folder}: {err}", stacklevel=2)

    def prune(self) -> None:
        def mtime(f: Path) -> float:
            try:
                return f.stat().st_mtime
            except OSError:
                return 0.0

        files = sorted(self.folder.glob(f"{self.prefix}-*.pickle"), key=mtime)
        for old in files[:-self.keep] if self.keep else files:
            old.unlink(missing_ok=True)
