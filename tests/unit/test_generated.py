from pathlib import Path

import pytest

from responder.generated import GeneratedFile, Output, build, check, drift, write
from responder.schemas import ProblemsError

OUTPUT = Output(what="generated notes", command="make notes", sources="notes/src/", globs=("notes/*.txt",))


def _files() -> list[GeneratedFile]:
    return [
        GeneratedFile(Path("notes/a.txt"), f"# {OUTPUT.mark('notes/src/a')}\nalpha\n"),
        GeneratedFile(Path("notes/deep/b.txt"), f"# {OUTPUT.mark('notes/src/b')}\nbeta\n"),
    ]


def test_write_creates_directories_and_writes_only_what_changed(tmp_path: Path) -> None:
    files = _files()
    assert write(tmp_path, files) == [Path("notes/a.txt"), Path("notes/deep/b.txt")]
    assert (tmp_path / "notes" / "deep" / "b.txt").read_text() == files[1].text
    assert write(tmp_path, files) == []
    (tmp_path / "notes" / "a.txt").write_text("edited\n")
    assert write(tmp_path, files) == [Path("notes/a.txt")]


def test_build_says_what_it_wrote_or_that_all_is_up_to_date(tmp_path: Path) -> None:
    assert build(tmp_path, OUTPUT, _files()) == "wrote notes/a.txt\nwrote notes/deep/b.txt"
    assert build(tmp_path, OUTPUT, _files()) == "generated notes are up to date"


def test_drift_names_each_file_and_the_command_that_regenerates_it(tmp_path: Path) -> None:
    files = _files()
    write(tmp_path, files[1:])
    (tmp_path / "notes" / "deep" / "b.txt").write_text(files[1].text + "edited by hand\n")
    (tmp_path / "notes" / "gone.txt").write_text(f"# {OUTPUT.mark('notes/src/gone')}\n")
    (tmp_path / "notes" / "hand.txt").write_text("written by hand\n")
    assert drift(tmp_path, OUTPUT, files) == [
        "notes/a.txt: missing; run `make notes` and commit it",
        "notes/deep/b.txt: differs from what its sources (notes/src/) generate; edit the sources, not this file, "
        "then run `make notes` and commit the result",
        "notes/gone.txt: no source generates it any more; delete it",
    ]


def test_a_stray_file_that_is_not_utf8_is_passed_over_not_a_crash(tmp_path: Path) -> None:
    files = _files()
    write(tmp_path, files)
    (tmp_path / "notes" / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    assert drift(tmp_path, OUTPUT, files) == []


def test_drift_compares_bytes_so_changed_line_endings_count(tmp_path: Path) -> None:
    files = _files()
    write(tmp_path, files)
    assert drift(tmp_path, OUTPUT, files) == []
    path = tmp_path / "notes" / "a.txt"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert [p.split(":")[0] for p in drift(tmp_path, OUTPUT, files)] == ["notes/a.txt"]


def test_check_raises_every_problem_under_a_headline_naming_the_sources(tmp_path: Path) -> None:
    with pytest.raises(ProblemsError) as raised:
        check(tmp_path, OUTPUT, _files())
    assert raised.value.headline == "generated notes are out of date with notes/src/:"
    assert len(raised.value.problems) == 2
    write(tmp_path, _files())
    check(tmp_path, OUTPUT, _files())
