"""The import contract of the layers (docs/architecture.md), checked on every import statement of
src/helpers, those inside functions included.

- ``domain``, ``store`` and ``engine`` import only ``config``, ``domain`` and ``store``;
- ``intake`` imports neither ``analysis``, ``present``, ``pipeline`` nor ``sim``;
- ``analysis`` imports neither ``intake``, ``present``, ``pipeline`` nor ``sim``; it knows no language;
- ``present`` imports no estimator (``helpers.analysis.effects``), nor ``intake``, ``pipeline`` or ``sim``;
- ``pipeline`` and ``sim`` may import every layer.

``PENDING`` lists the imports that break the contract today, each with what removes it: the test fails
on any other break, and on an entry that no longer occurs, so the list can only shrink (it is empty now).
"""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "helpers"

FORBIDDEN = {
    "domain": {"intake", "analysis", "present", "pipeline", "sim", "effects"},
    "store": {"intake", "analysis", "present", "pipeline", "sim", "effects"},
    "engine": {"intake", "analysis", "present", "pipeline", "sim", "effects"},
    "intake": {"analysis", "present", "pipeline", "sim", "effects"},
    "analysis": {"intake", "present", "pipeline", "sim", "effects"},
    "present": {"intake", "pipeline", "sim", "effects", "analysis.effects"},
}

PENDING: set[tuple[str, str]] = set()    # every break issue 12 listed is gone (the results layer removed them)


def _is_module(root: Path, dotted: str) -> bool:
    path = root.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or path.is_dir()


def imported(root: Path, path: Path) -> set[str]:
    """The helpers modules (or packages) the file's import statements name, inside functions too."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "helpers"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "helpers":
            subs = {f"{node.module}.{a.name}" for a in node.names if _is_module(root, f"{node.module}.{a.name}")}
            out |= subs or {node.module}
            if len(subs) < len(node.names):
                out.add(node.module)
    return out


def breaks(module: str, target: str) -> bool:
    layer = module.split(".")[1]
    rest = target.split(".", 1)[1] if "." in target else ""
    return any(rest == f or rest.startswith(f + ".") for f in FORBIDDEN.get(layer, ()))


def contract_breaks(root: Path = SRC) -> set[tuple[str, str]]:
    """(module, imported package or module) for every import that breaks the contract, the imported name
    shortened to its layer's package and module (``helpers.analysis.effects`` for any estimator)."""
    found = set()
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        mod = ".".join(("helpers",) + (parts[:-1] if parts[-1] == "__init__" else parts))
        for target in imported(root, path):
            if breaks(mod, target):
                found.add((mod, ".".join(target.split(".")[:3])))
    return found


def test_the_layers_import_only_what_the_contract_allows():
    found = contract_breaks()
    assert found - PENDING == set(), "imports that break the layer contract (docs/architecture.md)"
    assert PENDING - found == set(), "an import listed as pending is gone: remove it from PENDING"


def test_the_checker_sees_a_break_inside_a_function_and_lets_allowed_imports_pass(tmp_path):
    assert breaks("helpers.analysis.construct", "helpers.intake.assemble")
    assert breaks("helpers.present.report", "helpers.analysis.effects.twfe")
    assert not breaks("helpers.present.report", "helpers.analysis.indicators")
    assert not breaks("helpers.analysis.indicators", "helpers.domain.dictionary")
    assert not breaks("helpers.pipeline.run", "helpers.intake.assemble")
    fake = tmp_path / "helpers"
    for pkg in ("analysis", "present", "domain"):
        (fake / pkg).mkdir(parents=True)
        (fake / pkg / "__init__.py").write_text("", encoding="utf-8")
    (fake / "present" / "figures.py").write_text("", encoding="utf-8")
    (fake / "analysis" / "x.py").write_text("from helpers.domain import y\ndef f():\n    from helpers.present import figures\n",
                                            encoding="utf-8")
    assert contract_breaks(fake) == {("helpers.analysis.x", "helpers.present.figures")}


def test_the_old_public_names_of_the_estimators_still_import():
    from helpers.effects import EstimationError, callaway_santanna, imputation, twfe  # noqa: F401
