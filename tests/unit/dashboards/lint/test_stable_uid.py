from responder.dashboards.lint.stable_uid import CHECK
from tests.unit.dashboards.lint.factory import built, messages, model


def test_the_derived_uid_passes() -> None:
    assert messages(CHECK, built()) == []


def test_a_uid_over_40_characters_is_reported() -> None:
    changed = model()
    changed["uid"] = "x" * 41
    found = messages(CHECK, built(changed))
    assert any("must be 1 to 40 letters" in m for m in found)


def test_a_uid_other_than_the_one_alerts_link_to_is_reported() -> None:
    changed = model()
    changed["uid"] = "example"
    assert messages(CHECK, built(changed)) == [
        "uid 'example' is not 'alert-responder-example', the uid every alert's dashboard_url links to"
    ]
