from responder.catalogue.lint.action_vocabulary import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


def test_known_actions_pass() -> None:
    for action in ("EMERGENCY_STOP", "FREEZE_DEPLOYMENTS", "INVESTIGATE"):
        annotations = {**alert().annotations, "action": action}
        assert messages(CHECK, alert(annotations=annotations)) == []


def test_runbook_prose_as_an_action_is_reported() -> None:
    # The MC runbook put instructions where the action belongs.
    annotations = {**alert().annotations, "action": "Halt autonomy enactments immediately"}
    [message] = messages(CHECK, alert(annotations=annotations))
    assert "is not one of EMERGENCY_STOP, FREEZE_DEPLOYMENTS, INVESTIGATE" in message
