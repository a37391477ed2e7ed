"""The journal's disk settings: sizes parse, and a reserve that could not cover a checkpoint is refused."""

from collections.abc import Callable

import pytest

from responder.policy import Policy, PolicyError


def test_the_wal_bound_and_the_reserve_are_read_as_sizes(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy({"journal.wal_max": "64MiB", "journal.reserve": "1GiB"})
    assert (policy.journal_wal_max, policy.journal_reserve) == (64 * 2**20, 2**30)


def test_a_reserve_smaller_than_the_wal_bound_is_refused_saying_why(make_policy: Callable[..., Policy]) -> None:
    with pytest.raises(PolicyError) as refused:
        make_policy({"journal.wal_max": "256MiB", "journal.reserve": "64MiB"})
    [problem] = refused.value.problems
    assert "journal.reserve (64MiB) is smaller than journal.wal_max (256MiB)" in problem
    assert "set reserve to wal_max plus a margin" in problem
