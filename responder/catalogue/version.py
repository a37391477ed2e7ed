"""The ruleset version in rules/catalogue.yaml changes whenever the generated rules do.

The version is stamped into every generated rule file and manifest, so that what is deployed
names what it is. Git records what each version generated: the last commit that changed the
`version:` line of catalogue.yaml holds that version's generated files. When what the sources
generate now differs from those files, the rules changed without a bump, and `rules check`
says so. A version that differs from HEAD's is a bump in progress; outside a git checkout (a
source tarball) there is no record to compare with. Neither is a problem.
"""

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from responder.catalogue.load import CATALOGUE_FILE
from responder.generated import GeneratedFile

_VERSION = re.compile(r"^version:\s*(\S+)", re.MULTILINE)


def _git(root: Path, *args: str) -> str | None:
    """git's output in `root`, or None when git, the checkout or the object is not there."""
    git = shutil.which("git")
    if git is None:
        return None
    done = subprocess.run([git, "-C", str(root), *args], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout if done.returncode == 0 else None


def _version(text: str | None) -> str | None:
    found = _VERSION.search(text or "")
    return found.group(1).strip("'\"") if found else None


def version_commit(root: Path, version: str) -> str | None:
    """The commit that set `version` in catalogue.yaml, if HEAD still has it; else None."""
    path = CATALOGUE_FILE.as_posix()
    if _version(_git(root, "show", f"HEAD:{path}")) != version:
        return None
    commit = (_git(root, "log", "-1", "--format=%H", "-G", "^version:", "HEAD", "--", path) or "").strip()
    return commit if commit and _version(_git(root, "show", f"{commit}:{path}")) == version else None


def unbumped(root: Path, version: str, files: Sequence[GeneratedFile]) -> list[str]:
    """Each generated file that differs from what `version` generated when it was set."""
    commit = version_commit(root, version)
    if commit is None:
        return []
    problems = []
    for generated in files:
        then = _git(root, "show", f"{commit}:{generated.path.as_posix()}")
        if then != generated.text:
            how = "is new" if then is None else "changed"
            problems.append(f"{generated.path} {how} since ruleset version {version} was set in {commit[:12]}")
    return problems


def bump_headline(version: str) -> str:
    return (
        f"the generated rules changed but the ruleset version is still {version}: bump `version` in "
        f"{CATALOGUE_FILE} in the same commit (e.g. the date and a counter), then `responder rules build`:"
    )
