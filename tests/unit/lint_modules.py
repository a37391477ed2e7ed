"""The rule linter and the dashboard linter keep the same promise: one check per module, each
registered, explained in a `why` and tested in a test module of its own name."""

import importlib
import pkgutil
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any


def unregistered_untested_or_unexplained(package: ModuleType, checks: Iterable[Any], test_dir: Path) -> list[str]:
    modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    registered = {c.name for c in checks}
    problems = [] if len(registered) == len(modules) else [f"{len(modules)} modules, {len(registered)} registered"]
    for name in sorted(modules):
        check = importlib.import_module(f"{package.__name__}.{name}").CHECK
        if check.name not in registered:
            problems.append(f"{name}: not registered in all_checks()")
        if len(check.why) <= 20:
            problems.append(f"{name}: say in one line why the check exists")
        if not (test_dir / f"test_{name}.py").exists():
            problems.append(f"{name}: has no test")
    return problems
