"""`responder backtest` refuses a Prometheus URL it would misread before reading anything, in
one line that quotes nothing of it."""

import pytest

from responder.cli import main
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("url", "secret", "words"),
    [
        ("http://user:pa/ss@127.0.0.1:1", "pa/ss", "it has an @ after its host: percent-encode"),
        ("http://user:s3cr#et@127.0.0.1:1", "s3cr", "it has an @ after its host: percent-encode"),
        ("http://u:p4ss@[::1", "p4ss", "its host or port cannot be read"),
        ("127.0.0.1:9090", "9090", "it names no host; write it as scheme://host[:port]/path"),
    ],
)
def test_a_url_that_would_be_misread_is_refused_in_one_line_quoting_none_of_it(
    url: str, secret: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", "--prometheus", url, "--rules", str(REPO / "rules")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("backtest: --prometheus: ")
    assert err.count("\n") == 1
    assert words in err
    assert secret not in err
