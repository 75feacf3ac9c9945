"""The folder list is the architecture: which layer may import which, and no import cycle.

Checked on the import graph of our packages (grimp, import-linter's engine), so a change
that couples the web to a worker's computation, or makes two modules import each
other, fails here with the chain that does it.
"""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("app", "jobs", "kinds", "worker", "monitor", "sales", "devstack")
# importer -> packages (or modules) it must never reach, directly or through others.
FORBIDDEN = {
    "app": (
        "worker",
        "monitor",
        "kinds.reports.compute",
        "kinds.reports.work",
        "kinds.imports.work",
    ),
    "worker": ("app", "monitor"),
    "monitor": ("app", "worker"),
    "jobs": ("app", "worker", "monitor", "kinds", "sales"),
    "kinds": ("app", "monitor", "worker"),
    "sales": ("app", "jobs.store", "jobs.kinds", "worker", "monitor", "kinds"),
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=True)


@pytest.mark.parametrize("importer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_it_may(graph: grimp.ImportGraph, importer: str) -> None:
    # Given the modules of one layer and the layers it must not depend on
    for forbidden in FORBIDDEN[importer]:
        # When we look for any chain of imports from one to the other
        chains = graph.find_shortest_chains(importer=importer, imported=forbidden)
        # Then there is none
        assert not chains, f"{importer} reaches {forbidden}: {sorted(chains)[:3]}"


def test_no_module_imports_itself_through_others(graph: grimp.ImportGraph) -> None:
    # Given every direct import between two of our modules
    cycles = []
    ours = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    for module in sorted(ours):
        for imported in graph.find_modules_directly_imported_by(module) & ours:
            # When the imported module leads back to the importer
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append((module, *back))
    # Then no such cycle exists
    assert not cycles, cycles[:5]


def test_only_the_web_imports_flask(graph: grimp.ImportGraph) -> None:
    # Given the worker runtime, the monitor and the core
    for package in ("worker", "monitor", "jobs", "kinds", "sales"):
        # Then none of them imports Flask (the worker side never loads the HTTP layer)
        assert not graph.find_shortest_chains(importer=package, imported="flask"), package
