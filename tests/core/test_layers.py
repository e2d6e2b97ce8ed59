"""The import graph of the installed namespace: nothing imports the root package, and every
module sits in a layer of the import-linter contract in pyproject.toml.

The graph is read from a copy of the source laid out as pip installs it (the top-level folders
mapped into ``vipexec`` by ``[tool.setuptools.package-dir]``): in an editable install grimp
sees only ``vipexec/`` itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("grimp")
tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())

GRAPH_SCRIPT = """
import json, sys
import grimp
graph = grimp.build_graph("vipexec", exclude_type_checking_imports=True)
edges = []
for importer in sorted(graph.modules):
    for imported in sorted(graph.find_modules_directly_imported_by(importer)):
        edges.append([importer, imported])
json.dump({"modules": sorted(graph.modules), "edges": edges}, sys.stdout)
"""


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("installed")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    # Parents first, so that a mapped folder lands inside its parent's copy.
    mapping = CONFIG["tool"]["setuptools"]["package-dir"]
    for package, folder in sorted(mapping.items(), key=lambda item: item[0].count(".")):
        shutil.copytree(
            ROOT / folder, target.joinpath(*package.split(".")), ignore=ignore, dirs_exist_ok=True
        )
    result = subprocess.run(
        [sys.executable, "-c", GRAPH_SCRIPT],
        cwd=target,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_copy_holds_every_mapped_folder(graph):
    for package in CONFIG["tool"]["setuptools"]["package-dir"]:
        assert package in graph["modules"], package


def test_no_module_imports_the_root_package(graph):
    # The root package is the public facade (lazy exports); importing it from inside makes a
    # module depend on every layer the facade names.
    importers = sorted(importer for importer, imported in graph["edges"] if imported == "vipexec")
    assert importers == []


def _layer_modules() -> list[str]:
    (contract,) = [c for c in CONFIG["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    (container,) = contract["containers"]
    names = []
    for layer in contract["layers"]:
        for name in layer.replace("|", ":").split(":"):
            names.append(f"{container}.{name.strip().strip('()')}")
    return names


def test_every_module_sits_in_a_layer(graph):
    layers = _layer_modules()
    outside = [
        module
        for module in graph["modules"]
        if not any(module == layer or module.startswith(layer + ".") for layer in layers)
    ]
    # Only the root facade and the namespace package that holds the two sandbox layers are
    # outside every layer; neither may import anything (the facade's names are lazy strings).
    assert sorted(outside) == ["vipexec", "vipexec.sandbox"]
    imports_from_outside = [
        (importer, imported)
        for importer, imported in graph["edges"]
        if importer == "vipexec.sandbox"
    ]
    assert imports_from_outside == []
