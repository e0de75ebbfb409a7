"""Module-level import graph of ipt_groups: cycles, and services -> push/jobs edges.

    python tools/import_graph.py            # exit 1 if a cycle or a forbidden edge exists
    python tools/import_graph.py --local    # also list function-local imports of our modules

Only imports executed at import time count (module body, including ``if``/``try``
blocks, excluding ``if TYPE_CHECKING:``); imports inside functions are listed
with ``--local``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = "ipt_groups"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PKG).rglob("*.py"))}


def _resolve(node: ast.ImportFrom, current: str, is_pkg: bool, known: set[str]) -> list[str]:
    if node.level:
        base = current.split(".")
        if not is_pkg:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    out = []
    for alias in node.names:
        candidate = f"{prefix}.{alias.name}"
        out.append(candidate if candidate in known else prefix)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, current: str, known: set[str]) -> tuple[set[str], list[tuple[int, str]]]:
    """(module-level targets, [(line, target)] of function-local ones)."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    top: set[str] = set()
    local: list[tuple[int, str]] = []

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        if isinstance(node, ast.ImportFrom):
            return _resolve(node, current, is_pkg, known)
        return []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    walk_stmt(sub, in_function)
                continue
            walk_stmt(child, in_function)

    def walk_stmt(child: ast.AST, in_function: bool) -> None:
        ours = [t for t in targets(child) if t == PKG or t.startswith(PKG + ".")]
        if ours:
            if in_function:
                local.extend((child.lineno, t) for t in ours)
            else:
                top.update(ours)
        fn = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        walk(child, in_function or fn)

    walk(tree, False)
    # Importing a.b.c runs a/__init__ and a/b/__init__ first.
    for target in list(top):
        parts = target.split(".")
        for i in range(2, len(parts)):
            top.add(".".join(parts[:i]))
    top.discard(current)
    return {t for t in top if t in known}, local


def graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[int, str]]]]:
    mods = modules()
    known = set(mods)
    edges, locals_ = {}, {}
    for name, path in mods.items():
        edges[name], locals_[name] = imports(path, name, known)
    return edges, locals_


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _is_package_init(name: str, edges: dict[str, set[str]]) -> bool:
    return any(other.startswith(name + ".") for other in edges)


def main(argv: list[str]) -> int:
    edges, locals_ = graph()
    # A package __init__ that re-exports its submodules forms a trivial cycle
    # with them (pkg -> pkg.sub -> pkg); that is how Python packages work, so
    # drop the child -> parent-package edge before looking for cycles.
    pruned = {
        m: {t for t in ts if not (_is_package_init(t, edges) and m.startswith(t + "."))}
        for m, ts in edges.items()
    }
    status = 0
    found = cycles(pruned)
    services = [m for m in found if any(x.startswith(f"{PKG}.services") for x in m)]
    print(f"import cycles among {len(edges)} modules: {len(found)}")
    for comp in found:
        print("  cycle:", " <-> ".join(comp))
    if found:
        status = 1
    forbidden = sorted(
        (m, t)
        for m, ts in edges.items()
        if m.startswith(f"{PKG}.services")
        for t in ts
        if t.startswith((f"{PKG}.push", f"{PKG}.jobs", f"{PKG}.api"))
    )
    print(f"services importing push/jobs/api at module level: {len(forbidden)}")
    for m, t in forbidden:
        print(f"  {m} -> {t}")
    if forbidden:
        status = 1
    if services:
        print(f"cycles touching services: {len(services)}")
    if "--local" in argv:
        n = sum(len(v) for v in locals_.values())
        print(f"function-local imports of {PKG} modules: {n}")
        for m in sorted(locals_):
            for line, target in locals_[m]:
                print(f"  {m}:{line} -> {target}")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
