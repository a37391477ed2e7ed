"""`scripts/demo --real-kube`: the same story, the deployment stopped on a real kube-apiserver."""

import io
import shutil

from tests.e2e import demo
from tests.kube import build
from tests.kube.conftest import unavailable


def test_the_demo_stops_the_deployment_on_a_real_api_server() -> None:
    if build.missing() or shutil.which("etcd") is None:
        unavailable("the Kubernetes binaries or etcd are missing; run: python -m tests.kube.build")
    out = io.StringIO()
    assert demo.main(out, real_kube=True) == 0
    story = out.getvalue()
    assert "started: a real kube-apiserver" in story
    assert "scaled autogen-council/o3-audit-proxy 3 → 0, recorded for restore" in story, story
    assert "shut down" in story
