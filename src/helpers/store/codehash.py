"""The code part of every cache key: a hash of the helpers modules a module imports, transitively.

One rule for every cache the workbook keeps (the artifacts of ``pipeline.artifacts``, the per-quarter intake cache
of ``intake.assemble`` and the per-quarter indicators of ``analysis.indicators``): a result depends on the module
that makes it and on every ``helpers`` module that module imports, inside functions too, transitively, packages'
``__init__`` included. No list of files is written by hand, so a new import cannot be forgotten.
"""
from __future__ import annotations

import ast
import hashlib
import json
from functools import lru_cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]          # src/helpers


def _module_file(dotted: str, root: Path = SRC) -> Path | None:
    parts = dotted.split(".")[1:]
    base = root.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imports(path: Path, root: Path = SRC) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "helpers"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "helpers":
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names if _module_file(f"{node.module}.{a.name}", root)}
    return out


def code_modules(module: str, root: Path = SRC) -> dict[str, str]:
    """Every helpers module the given one imports (inside functions too, transitively, packages' __init__
    included), each with the SHA-256 of its file."""
    seen: dict[str, str] = {}
    todo = [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        f = _module_file(m, root)
        if f is None:
            continue
        seen[m] = hashlib.sha256(f.read_bytes()).hexdigest()
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(2, len(parts))]         # the packages it lives in
        todo += sorted(_imports(f, root))
    return dict(sorted(seen.items()))


@lru_cache(maxsize=64)
def _code_hash(module: str, stamp: tuple) -> str:
    return hashlib.sha256(json.dumps(code_modules(module), sort_keys=True).encode()).hexdigest()


def code_hash(module: str) -> str:
    stamp = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in SRC.rglob("*.py")))
    return _code_hash(module, stamp)



__all__ = ["code_modules", "code_hash"]
