import pytest

from responder.duplicate_keys import TooDeep, first_duplicate_key


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ('{"a": 1, "b": 2}', None),
        ('{"a": 1, "a": 1}', "a"),
        ('{"a": {"b": 1}, "c": [{"b": 2, "b": 3}]}', "b"),
        ('[{"a": 1}, {"a": 2}]', None),
        ('{"a\\u0062": 1, "ab": 2}', "ab"),
    ],
    ids=["none", "top-level", "nested in a list", "same key in two objects", "one spelled with an escape"],
)
def test_the_first_key_an_object_names_twice_is_found_wherever_it_is(document: str, key: str | None) -> None:
    assert first_duplicate_key(document) == key


def test_nesting_the_parser_cannot_follow_is_too_deep_not_a_crash() -> None:
    with pytest.raises(TooDeep, match="nested too deeply"):
        first_duplicate_key("[" * 100_000 + "]" * 100_000)
