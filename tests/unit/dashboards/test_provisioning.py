import yaml

from responder.dashboards.push import folder_uid
from tests.conftest import REPO


def test_provisioning_and_push_put_the_dashboards_in_the_same_folder() -> None:
    document = yaml.safe_load((REPO / "deploy" / "grafana" / "alert-responder.yaml").read_text())
    assert document["apiVersion"] == 1
    [provider] = document["providers"]
    assert provider["type"] == "file"
    assert provider["folderUid"] == folder_uid(provider["folder"])
    assert provider["allowUiUpdates"] is False  # the JSON is generated: edits belong in dashboards/src/
    assert provider["options"]["path"].startswith("/")
