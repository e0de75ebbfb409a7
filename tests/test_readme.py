"""The README and the docs agree with the code they describe.

The layout map names every module of the package (and nothing that is gone),
the configuration table has every variable the app reads, the links between the
documents lead somewhere, and every test SECURITY.md names as a claim's proof
exists.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ipt_groups.config import ENV_VARS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]


def section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section, up to the next ``## `` heading."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def layout_paths() -> list[str]:
    """Every path under ipt_groups/ that the README's layout map names."""
    body = section(README.read_text(encoding="utf-8"), "Code layout")
    block = body.split("```", 2)[1]
    paths: list[str] = []
    stack: list[str] = []
    inside = False
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        name = line.split()[0]
        if indent == 0:
            inside = name == "ipt_groups/"
            stack = ["ipt_groups"] if inside else []
            continue
        if not inside:
            continue
        level = indent // 2
        del stack[level:]
        path = "/".join([*stack, name.rstrip("/")])
        paths.append(path)
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
    return paths


def test_the_layout_map_names_every_module_and_only_what_exists() -> None:
    named = layout_paths()
    assert len(named) == len(set(named)), sorted(p for p in named if named.count(p) > 1)
    gone = [p for p in named if not (ROOT / p).exists()]
    assert not gone, f"the README's code layout names what is not in the tree: {gone}"
    modules = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "ipt_groups").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    unnamed = sorted(modules - set(named))
    assert not unnamed, f"add a line for each to the README's code layout: {unnamed}"


def test_the_configuration_table_has_every_variable_the_app_reads() -> None:
    table = section(README.read_text(encoding="utf-8"), "Configuration")
    rows = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.MULTILINE))
    assert set(ENV_VARS) <= rows, sorted(set(ENV_VARS) - rows)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def test_links_between_the_documents_lead_somewhere() -> None:
    broken = []
    for doc in DOCS:
        text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked here
            file_part, _, anchor = target.partition("#")
            linked = (doc.parent / file_part).resolve() if file_part else doc
            if not linked.exists():
                broken.append(f"{doc.name}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{doc.name}: {target} (no such heading)")
    assert not broken, broken


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_security_md_names_exists() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    named = re.findall(r"(tests/[\w/]+\.py)::(test_\w+)", text)
    assert len(named) > 20, "SECURITY.md names its proofs as tests/test_x.py::test_name"
    missing = [
        f"{file}::{name}"
        for file, name in named
        if not (ROOT / file).exists() or name not in defined_tests(ROOT / file)
    ]
    assert not missing, missing
