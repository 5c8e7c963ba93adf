"""What the README's serve command installs is everything the app imports (issue 16): every third-party
module that explorer/, scenes/ and kernels/ import comes with the project's core dependencies, directly or as
one of theirs, so no feature fails later with "No module named …" (torch, for the learned score, once did)."""
import ast
import importlib.metadata as metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"explorer", "scenes", "kernels", "benchmarks"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_with(requirements) -> set:
    """The distributions these requirements install here: themselves and, recursively, what they require
    (a requirement whose marker does not hold here, an extra's among them, left out)."""
    from packaging.requirements import Requirement

    seen, todo = set(), list(requirements)
    while todo:
        requirement = Requirement(todo.pop())
        name = canonical(requirement.name)
        if name in seen or (requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo += metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            pass
    return seen


def imported_modules() -> dict:
    """Top-level third-party module → the files of explorer/, scenes/, kernels/ that import it."""
    found: dict = {}
    for package in ("explorer", "scenes", "kernels"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_module_the_app_imports_comes_with_the_core_dependencies():
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    installed = installed_with(core)
    providers = metadata.packages_distributions()
    missing = {module: sorted(files) for module, files in imported_modules().items()
               if not {canonical(d) for d in providers.get(module, [module])} & installed}
    assert not missing, f"imported by the app but not installed by `pip install -e .`: {missing}"
    assert "torch" in installed  # the learned score, LightSB and the Lorenz MLP
