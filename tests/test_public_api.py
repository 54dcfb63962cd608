"""The public API: what ``evaluation_pipeline`` (and its ``analysis``, ``report`` and
``publication`` packages) export in ``__all__`` resolves, importing it loads no dagster, and
the notebooks use only it (nothing from ``assets``, no private name)."""

import importlib
import re
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT

PACKAGES = ["evaluation_pipeline", "evaluation_pipeline.analysis", "evaluation_pipeline.report",
            "evaluation_pipeline.publication"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package):
    mod = importlib.import_module(package)
    assert len(set(mod.__all__)) == len(mod.__all__), "a name exported twice"
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name
        assert name in dir(mod)
    with pytest.raises(AttributeError):
        mod.not_a_public_name  # noqa: B018


def test_the_exports_are_the_library_functions():
    import evaluation_pipeline as ep
    from evaluation_pipeline import warehouse
    from evaluation_pipeline.analysis import did
    from evaluation_pipeline.publication import rules

    assert ep.connect_warehouse is warehouse.connect_warehouse
    assert ep.did_twfe is did.did_twfe
    assert ep.suppress_scale_means is rules.suppress_scale_means


def test_assets_resources_reuses_the_library_warehouse_access():
    """The old names in ``assets.resources`` are the library's functions (no second copy)."""
    from assets import resources
    from evaluation_pipeline import warehouse

    for name in ("connect_warehouse", "default_study_path", "load_study", "warehouse_path",
                 "PROJECT_ROOT", "STUDY_ENV"):
        assert getattr(resources, name) is getattr(warehouse, name), name


def test_importing_the_public_api_loads_no_dagster():
    code = (
        "import sys\n"
        f"for package in {PACKAGES!r}:\n"
        "    mod = __import__(package, fromlist=['*'])\n"
        "    for name in mod.__all__:\n"
        "        getattr(mod, name)\n"
        "from evaluation_pipeline.report import figures  # noqa: F401\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'assets'))\n"
        "assert not bad, bad\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr


IMPORT = re.compile(r"^\s*(?:from\s+(\S+)\s+import\s+(\([^)]*\)|.+)|import\s+(.+))$", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_use_only_the_public_api(path):
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                       if c.cell_type == "code")
    imports = IMPORT.findall(source)
    assert imports
    for module, names, plain in imports:
        modules = [module] if module else [m.split(" as ")[0].strip() for m in plain.split(",")]
        for m in modules:
            assert m.split(".")[0] != "assets", f"{path.name} imports {m}"
            assert not any(part.startswith("_") for part in m.split(".")), m
        for name in re.split(r"[\s,()]+", names):
            assert not name.startswith("_"), f"{path.name} imports the private {name}"
            if module == "evaluation_pipeline" and name:
                import evaluation_pipeline

                assert name in evaluation_pipeline.__all__, name
    assert "assets." not in source
