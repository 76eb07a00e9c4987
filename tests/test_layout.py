"""The package's shape (docs/development.md): no import circles, a small top level, the default k named once,
and no backend class looked for outside qa/stores/. Read from the source, so a new module is checked too."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

QA = Path(__file__).resolve().parent.parent / "qa"


def _modules() -> dict[str, Path]:
    """Every module of qa/ by its dotted name (a package by its own name)."""
    out = {}
    for path in sorted(QA.rglob("*.py")):
        parts = path.relative_to(QA.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that runs: at the top, in functions and classes; not those under `if TYPE_CHECKING:`."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the qa modules it imports. `from qa.x import y` counts as importing qa.x.y when y is a module."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names}
                continue
            base = node.module or ""
            if node.level:  # relative: from .x import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                edges.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle (its modules in order, the first repeated at the end), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def test_no_import_circles_anywhere_in_qa():
    """Imports inside functions count: one placed there to dodge a circle is still a circle."""
    cycle = find_cycle(import_graph())
    assert not cycle, "import circle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_circles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
    graph = import_graph()
    assert "qa.stores.local.reader" in graph["qa.stores.local"] and "qa.stores.base" in graph["qa.stores.local.reader"]


def test_the_command_app_and_stores_import_on_their_own():
    code = "import qa.cli, qa.app, qa.stores.local, qa.stores.milvus"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_top_level_stays_small():
    top = sorted(p.name for p in QA.glob("*.py"))
    assert len(top) <= 14, f"{len(top)} modules at qa/'s top level: {top}; give new ones a folder (docs/development.md)"


def test_the_default_k_is_named_once():
    """A `k` parameter, field or `-k` option with a number as its default belongs in qa/config.py (config.K)."""
    found = []
    for path in QA.rglob("*.py"):
        if path.name == "config.py" and path.parent == QA:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            literal = None
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
                pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
                literal = next((d for a, d in pairs if a.arg == "k" and isinstance(d, ast.Constant) and d.value is not None), None)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "k":
                literal = node.value if isinstance(node.value, ast.Constant) and node.value.value is not None else None
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args \
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value == "-k":
                literal = next((kw.value for kw in node.keywords if kw.arg == "default" and isinstance(kw.value, ast.Constant)), None)
            if literal is not None:
                found.append(f"{path.relative_to(QA.parent)}:{node.lineno}")
    # `qa eval -k` (articles ranked) and reciprocal rank fusion's k read config.EVAL_K and config.RRF_K
    assert not found, f"a default k written out instead of read from qa.config: {found}"


def test_nothing_outside_the_stores_reaches_for_a_backend():
    """The CLI, ingest, answerers and app call the store protocols (check(), side_folder(), sink()), never a backend."""
    backends = ("qa.stores.local", "qa.stores.milvus")
    reaching = []
    for name, edges in import_graph().items():
        if not name.startswith("qa.stores"):
            reaching += [f"{name} -> {e}" for e in sorted(edges) if e.startswith(backends)]
    assert not reaching, reaching
