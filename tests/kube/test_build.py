"""Where the build fetches from: the archive this machine's own apt sources name, in either format."""

from pathlib import Path

import pytest

from tests.kube.build import BuildError, debian_archive

DEB822 = """\
Types: deb
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main
"""


def sources(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / name).write_text(text)
    return tmp_path


def test_the_archive_comes_from_a_deb822_release_suite_with_its_keyring(tmp_path: Path) -> None:
    found = debian_archive(sources(tmp_path, "debian.sources", DEB822))
    assert found == ("http://mirror.invalid/debian", "/usr/share/keyrings/debian-archive-keyring.gpg")


def test_the_archive_comes_from_a_one_line_entry(tmp_path: Path) -> None:
    text = (
        "# deb http://old.invalid/debian bullseye main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.invalid/debian/ bookworm main\n"
    )
    assert debian_archive(sources(tmp_path, "debian.list", text)) == ("http://mirror.invalid/debian", "/k.gpg")


def test_no_debian_release_is_an_error_that_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="add the Debian archive"):
        debian_archive(sources(tmp_path, "node.sources", "Types: deb\nURIs: http://node.invalid\nSuites: nodistro\n"))
