"""The bench's own helpers: the PostgreSQL server kept on the CPUs it is given, and a wrong
`--server-cpus` refused in words before anything is started."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from benchmarks import bench
from benchmarks.servers import confine


def test_a_process_and_its_children_are_kept_on_the_cpus_given() -> None:
    parent = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    try:
        children: list[str] = []
        for _ in range(100):  # the shell starts its child at once; bounded all the same
            children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
            if children:
                break
            time.sleep(0.02)
        confine(parent.pid, {0})
        pids = [parent.pid, *map(int, children)]
        assert [os.sched_getaffinity(pid) for pid in pids] == [{0}] * len(pids)
        assert children, "the shell's child was not seen"
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--server-cpus", "1"], "--server-cpus needs --journal postgresql"),
        (["--journal", "postgresql", "--server-cpus", "one"], "'one' is not a list of CPU numbers; write them as 1"),
        (
            ["--journal", "postgresql", "--server-cpus", ",".join(map(str, sorted(os.sched_getaffinity(0))))],
            "name some, not all, of the CPUs this process may use",
        ),
    ],
)
def test_a_wrong_server_cpus_is_refused_in_words(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        bench.main(argv)
    assert exited.value.code == 2
    assert words in capsys.readouterr().err
