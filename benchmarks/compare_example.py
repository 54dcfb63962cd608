"""Are the example study's published tables unchanged? Runs the shipped example study with
the working tree's code and compares every CSV it writes (``output/tables/*.csv`` and the
municipality profiles' CSVs) byte for byte with a saved run.

    python -m benchmarks.compare_example --save DIR      # run now, keep the CSVs in DIR
    python -m benchmarks.compare_example --against DIR   # run now, compare with DIR
    python -m benchmarks.compare_example --against-commit REV   # run REV in a temporary
                                                                 # worktree, then compare

A refactoring that claims "no change in behaviour" shows it with ``--against-commit`` the
commit before it (exit status 0: identical; 1: a file differs, is missing or is new). Each run
uses a fresh copy of ``examples/sunnmore`` and a temporary ``DAGSTER_HOME``; nothing in the
tree is written. About a minute per run on two cores.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/sunnmore"


def _csvs(output: Path) -> dict[str, Path]:
    """The published CSVs of a run, by path relative to its output folder."""
    return {str(p.relative_to(output)): p for p in sorted(output.rglob("*.csv"))
            if p.relative_to(output).parts[0] in ("tables", "profiles")}


def run_example(tree: Path, into: Path, profiles: bool = True) -> Path:
    """Run the example study with the code in ``tree``; the CSVs are copied to ``into``."""
    with tempfile.TemporaryDirectory(prefix="compare-example-") as tmp:
        study = Path(tmp) / "study"
        shutil.copytree(tree / EXAMPLE, study, ignore=shutil.ignore_patterns("output"))
        home = Path(tmp) / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(tree)}
        cmd = [sys.executable, "-m", "assets.cli", "run", "--study", str(study / "study.yaml")]
        if not profiles:
            cmd.append("--no-profiles")
        done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            raise SystemExit(f"the example run with {tree} failed (exit {done.returncode})")
        into.mkdir(parents=True, exist_ok=True)
        for rel, path in _csvs(study / "output").items():
            (into / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, into / rel)
    return into


def compare(saved: Path, now: Path, profiles: bool = True) -> list[str]:
    """Differences between two folders of CSVs (empty: identical); without ``profiles`` only
    ``tables/`` is compared."""
    a, b = _csvs_in(saved, profiles), _csvs_in(now, profiles)
    out = [f"missing now: {rel}" for rel in sorted(set(a) - set(b))]
    out += [f"new now: {rel}" for rel in sorted(set(b) - set(a))]
    out += [f"differs: {rel}" for rel in sorted(set(a) & set(b))
            if not filecmp.cmp(a[rel], b[rel], shallow=False)]
    return out


def _csvs_in(folder: Path, profiles: bool = True) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*.csv"))
            if profiles or p.relative_to(folder).parts[0] == "tables"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--save", type=Path, help="run now and keep the CSVs here")
    which.add_argument("--against", type=Path, help="run now and compare with a saved run")
    which.add_argument("--against-commit", help="run this commit (git rev) and compare")
    parser.add_argument("--no-profiles", action="store_true",
                        help="only output/tables (faster; skips the profile CSVs)")
    args = parser.parse_args(argv)
    profiles = not args.no_profiles
    if args.save:
        if args.save.exists():
            shutil.rmtree(args.save)
        run_example(ROOT, args.save, profiles)
        print(f"{len(_csvs_in(args.save))} CSVs saved in {args.save}")
        return 0
    with tempfile.TemporaryDirectory(prefix="compare-example-") as tmp:
        if args.against_commit:
            tree = Path(tmp) / "ref"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree),
                            args.against_commit], check=True, capture_output=True)
            try:
                saved = run_example(tree, Path(tmp) / "saved", profiles)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(tree)], check=False, capture_output=True)
        else:
            saved = args.against
        now = run_example(ROOT, Path(tmp) / "now", profiles)
        diffs = compare(saved, now, profiles)
        n = len(_csvs_in(now))
        if diffs:
            print("\n".join(diffs))
            print(f"{len(diffs)} of {n} CSVs differ")
            return 1
        print(f"all {n} CSVs identical")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
