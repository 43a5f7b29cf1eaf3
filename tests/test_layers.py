"""The package's imports point one way and form no cycle.

Layers, lowest first (a module may import its own top-level package and the
layers below it, never a layer above nor a sibling of its own layer):

    utils  <-  label_model, labeling, metrics
           <-  two_stage, end_to_end, datasets
           <-  inspection, plotting
           <-  the package root (__init__, __main__)

Every import counts, including the ones inside functions (lazy imports),
so that a cycle cannot hide behind a deferred import. The graph is read
from the source with ``ast``; nothing is imported.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "skweak_e2e"

LAYERS = [
    {"utils", "_version"},
    {"label_model", "labeling", "metrics"},
    {"two_stage", "end_to_end", "datasets"},
    {"inspection", "plotting"},
    {"(root)"},
]
#: Modules directly in the package: the public namespace and the demo CLI.
ROOT = {"__init__", "__main__", "_demo"}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(node, module, is_package, modules):
    """Absolute names of the package modules that ``node`` imports."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PACKAGE.name]
    package = module if is_package else module.rsplit(".", 1)[0]
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1])
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    if target.split(".")[0] != PACKAGE.name:
        return []
    # "from package import submodule" imports the submodule too.
    names = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
    return [target, *names]


def _import_graph():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets.update(
                    _resolve(node, name, path.name == "__init__.py", modules)
                )
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _layer(module):
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    if top in ROOT:
        top = "(root)"
    for rank, layer in enumerate(LAYERS):
        if top in layer:
            return rank, top
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_every_module_has_a_layer():
    for module in _modules():
        _layer(module)


def test_imports_point_down_the_layers():
    wrong = []
    for module, targets in _import_graph().items():
        rank, top = _layer(module)
        for target in targets:
            target_rank, target_top = _layer(target)
            if target_top != top and target_rank >= rank:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_even_lazy_ones():
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_cycles():
    # The check above must be able to fail.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_imports_another_modules_private_names(module):
    # Private scikit-learn names come through utils/_sklearn_compat, whose
    # whole purpose is to hold them; they keep scikit-learn's spelling.
    path = _modules()[module]
    tree = ast.parse(path.read_text())
    private = [
        f"{node.module}.{a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.level or (node.module or "").startswith(PACKAGE.name))
        and not (node.module or "").endswith("_sklearn_compat")
        for a in node.names
        if a.name.startswith("_") and not a.name.startswith("__")
    ]
    assert not private, private
