"""The layout's rules, read off the source: no import cycles, one-way layers, imports at the top,
benchmarks that use the project and never the tests, and DVC stages whose deps cover every
module their command imports."""
from __future__ import annotations

import ast
import re

import pytest
import yaml

from tests.shared import ROOT

PACKAGES = ("matlab_compat", "workbench", "pipeline", "train")
#: What each layer may import (by module-name prefix): matlab_compat alone; the base (workbench)
#: on it; train on the base; pipeline's scheme layer on the base; evaluation on all of them.
#: Data flows data -> encrypt -> train -> evaluate, so train never imports pipeline.
BASE = ("matlab_compat", "workbench")
LAYERS = {
    "matlab_compat": ("matlab_compat",),
    "workbench": BASE,
    "pipeline.encrypt": BASE + ("pipeline.errors", "pipeline.encrypt"),
    "train": BASE + ("train",),
    "pipeline.evaluate": BASE + ("pipeline.errors", "pipeline.encrypt", "pipeline.evaluate", "train"),
}


#: The benchmark scripts: they may use every layer (and each other, as sibling modules), never ``tests``.
BENCHMARKS = ROOT / "benchmarks"


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, object]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def project_imports(path, top_level_only: bool = False) -> list[tuple[str, int]]:
    """(imported project module, line) of every import in a file (only those at module level, if asked).

    ``from package import submodule`` imports the submodule (the package is its parent, already
    imported); ``from module import name`` imports the module."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    known = set(modules()) if not top_level_only else None
    found = []
    for node in nodes:
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            names = [m for m in subs if m in (known or set(modules()))] or [node.module]
        found += [(n, node.lineno) for n in names if n.split(".")[0] in PACKAGES]
    return found


def imported_names(path) -> list[tuple[str, int]]:
    """(module, line) of every absolute import in a file, wherever it sits."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def benchmark_graph() -> dict[str, set[str]]:
    """The project's import graph with the benchmark scripts added (``benchmarks.<script>``): a script
    imports project modules and sibling scripts (``from train_throughput import ...``)."""
    edges = graph()
    scripts = {p.stem: f"benchmarks.{p.stem}" for p in BENCHMARKS.glob("*.py")}
    for stem, name in scripts.items():
        path = BENCHMARKS / f"{stem}.py"
        edges[name] = {m for m, _ in project_imports(path) if m in edges} | \
                      {scripts[m] for m, _ in imported_names(path) if m in scripts and m != stem}
    return edges


def graph() -> dict[str, set[str]]:
    known = modules()
    edges = {}
    for name, path in known.items():
        edges[name] = {m for m, _ in project_imports(path) if m in known and m != name}
    return edges


def import_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles():
    assert import_cycles(graph()) == []


def test_no_import_cycles_with_the_benchmarks():
    edges = benchmark_graph()
    assert {"benchmarks.gpu_check", "benchmarks.vortex"} <= set(edges)
    assert "benchmarks.train_throughput" in edges["benchmarks.gpu_check"]  # sibling imports are edges too
    assert import_cycles(edges) == []


def test_the_cycle_check_finds_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_benchmarks_never_import_the_tests():
    found = [f"benchmarks/{p.name}:{line} imports {m}" for p in sorted(BENCHMARKS.glob("*.py"))
             for m, line in imported_names(p) if m.split(".")[0] == "tests"]
    assert found == []


def _layer(module: str) -> str | None:
    matches = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len, default=None)


def test_layers_import_one_way():
    broken = []
    for name, targets in graph().items():
        layer = _layer(name)
        if layer is None:
            continue  # the commands (pipeline/<command>.py) may use every layer
        for target in targets:
            allowed = LAYERS[layer]
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                broken.append(f"{name} ({layer}) imports {target}")
    assert broken == []


def test_project_imports_sit_at_module_top():
    inside = []
    for name, path in modules().items():
        top = set(project_imports(path, top_level_only=True))
        tree_top_guarded = {(m, line) for m, line in project_imports(path) if (m, line) not in top}
        inside += [f"{path.relative_to(ROOT)}:{line} imports {m}" for m, line in sorted(tree_top_guarded)]
    assert inside == []


def _stage_entries() -> dict[str, tuple[str, list[str]]]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    out = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        entry = re.search(r"python -m ([\w.]+)", body["cmd"]).group(1)
        deps = [d for d in body.get("deps", []) if "$" not in d]
        out[name] = (entry, deps)
    return out


def _closure(entry: str) -> set[str]:
    known, edges = modules(), graph()
    start = entry if f"{entry}.__main__" not in known else f"{entry}.__main__"
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m in seen or m not in known:
            continue
        seen.add(m)
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a module runs its packages
        todo += sorted(edges[m])
    return seen


@pytest.mark.parametrize("stage", sorted(_stage_entries()))
def test_dvc_stage_deps_cover_every_module_its_command_imports(stage):
    entry, deps = _stage_entries()[stage]
    known = modules()
    files = sorted(str(known[m].relative_to(ROOT)) for m in _closure(entry))
    assert files, f"{stage}: {entry} is not a project module"
    missing = [f for f in files if not any(f == d or f.startswith(d.rstrip("/") + "/") for d in deps)]
    assert missing == [], f"dvc.yaml stage {stage} runs {entry}, which imports {missing} outside its deps"


#: The largest a module of the packages below may grow: past it, it holds more than one concern.
MAX_LINES = 400


def test_no_module_is_a_hub():
    hubs = [f"{path.relative_to(ROOT)}: {n} lines" for name, path in sorted(modules().items())
            if name.split(".")[0] in ("pipeline", "train", "workbench")
            and (n := len(path.read_text().splitlines())) > MAX_LINES]
    assert hubs == [], f"split by concern (at most {MAX_LINES} lines): {hubs}"
