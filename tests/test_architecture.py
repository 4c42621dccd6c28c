"""The layering rules of ARCHITECTURE.md, read from the code: every import of every engine module
(including those under `if TYPE_CHECKING:` and inside functions) is parsed with `ast` and checked."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "flatcheck"

# Rank of each layer; a module may import its own layer and lower ranks only. `report` is apart:
# it reads only the JSON results, so it imports `report`, `errors` and `cache` and nothing else.
RANK = {
    "errors": 0,
    "cache": 0,
    "problems": 1,
    "symbolic": 1,
    "stats": 1,
    "numeric": 2,
    "algorithms": 3,
    "impl": 4,
    "verify": 5,
    "bookkeeping": 6,
    "cli": 6,
    "pytest_plugin": 6,
}
REPORT_MAY_IMPORT = {"report", "errors", "cache"}
# The two front doors and the run bookkeeping they share.
FRONT_DOORS = {"bookkeeping", "cli", "pytest_plugin"}
# Layers of one rank that must not import one another (siblings, not a chain).
SIBLINGS = {"problems", "symbolic", "stats"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of the modules `path` imports, anywhere in it (functions, TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            # `from flatcheck.numeric import traces` imports the module flatcheck.numeric.traces
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def engine_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def graph() -> dict[str, set[str]]:
    """module -> the engine modules it imports (names that are packages or real modules only)."""
    modules = engine_modules()
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def violations() -> list[str]:
    return [v for path in sorted(ENGINE.rglob("*.py")) for v in rule_breaks(module_name(path), imports_of(path))]


def rule_breaks(name: str, targets: set[str]) -> list[str]:
    """What is wrong with module `name` importing `targets` (one line per offending layer)."""
    bad: dict[str, str] = {}
    own = layer(name)
    for target in sorted(targets):
        root = target.split(".")[0]
        if root in {"theorems", "flatcheck_theorems"}:
            bad.setdefault("catalog", f"{name} imports the catalog ({target})")
        if root != "flatcheck" or target == "flatcheck":
            continue
        other = layer(target)
        if other in (own, ""):
            continue
        if own == "report":
            if other not in REPORT_MAY_IMPORT:
                bad.setdefault(other, f"{name} (report) imports {target}: report reads only report, errors and cache")
        elif other == "report":
            if own not in FRONT_DOORS:
                bad.setdefault(other, f"{name} imports {target}: only the front doors use report")
        elif own not in RANK or other not in RANK:
            bad.setdefault(other, f"{name} imports {target}: a layer ARCHITECTURE.md does not name")
        elif RANK[other] > RANK[own] or (own in SIBLINGS and other in SIBLINGS):
            bad.setdefault(other, f"{name} ({own}) imports {target} ({other}): imports point downhill only")
    return list(bad.values())


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_imports_point_downhill_and_the_engine_never_imports_the_catalog():
    assert violations() == []


def test_no_two_engine_modules_import_each_other():
    # A package's __init__ re-exporting its modules is not a cycle with them: drop package -> child.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph().items()}
    assert cycles(edges) == []


def test_the_rules_catch_what_they_forbid(tmp_path):
    """The checker itself: upward, sideways, report and catalog imports and a cycle are all seen,
    and relative imports are resolved, including those under TYPE_CHECKING."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    probe = tmp_path / "flatcheck" / "numeric" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..report import text\n"
        "if TYPE_CHECKING:\n"
        "    from flatcheck.verify import registry\n"
        "def f():\n"
        "    import flatcheck_theorems.ahn2024\n"
    )
    targets = imports_of(probe, root=tmp_path)
    assert {"flatcheck.report.text", "flatcheck.verify.registry", "flatcheck_theorems.ahn2024"} <= targets
    breaks = rule_breaks("flatcheck.numeric.probe", targets)
    assert len(breaks) == 3
    assert any("catalog" in b for b in breaks) and any("front doors" in b for b in breaks)
    assert any("downhill" in b and "flatcheck.verify" in b for b in breaks)
    assert len(rule_breaks("flatcheck.stats.probe", {"flatcheck.problems.problem"})) == 1
    assert len(rule_breaks("flatcheck.report.probe", {"flatcheck.verify.claim"})) == 1
    assert rule_breaks("flatcheck.numeric.probe", {"flatcheck.stats.remainder_order", "flatcheck.errors"}) == []


def claims_imported(path: Path, root: Path = ROOT) -> list[str]:
    """The claims a catalog module imports: modules of a paper package (theorems.<paper>.<module>,
    or flatcheck_theorems.…) none of whose names start with `_` (those are helpers)."""
    found = []
    for target in sorted(imports_of(path, root)):
        parts = target.split(".")
        if parts[0] not in {"theorems", "flatcheck_theorems"} or any(p.startswith("_") for p in parts[1:]):
            continue
        if len(parts) > 2 and root.joinpath("theorems", *parts[1:]).with_suffix(".py").exists():
            found.append(target)
    return found


def test_a_claim_never_imports_another_claim(tmp_path):
    assert {str(p): claims_imported(p) for p in (ROOT / "theorems").rglob("*.py") if claims_imported(p)} == {}
    probe = tmp_path / "theorems" / "paper" / "probe.py"
    probe.parent.mkdir(parents=True)
    for name in ("_shared", "other", "third"):
        (probe.parent / f"{name}.py").write_text("")
    probe.write_text("from ._shared import x\nfrom .other import y\nfrom . import third\n")
    assert claims_imported(probe, tmp_path) == ["theorems.paper.other", "theorems.paper.third"]
