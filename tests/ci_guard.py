"""Fail CI when tests that must run against real binaries were skipped or never collected.

pytest exits 0 when a whole module is skipped; this reads the JUnit report and insists that
each required module ran tests and that none of them was skipped.
"""

import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

REQUIRED_MODULES = (
    "tests.promtool.test_promtool",  # promtool check rules and promtool test rules
    "tests.deploy.test_alertmanager",  # amtool on deploy/alertmanager.yml
    "tests.process.test_crash",  # the responder as a real process, killed and restarted
    "tests.process.test_interrupted",  # each side effect cut short by SIGKILL, then run again
    "tests.prometheus.test_queries",  # every panel, alert and recording rule query on a real Prometheus
    "tests.e2e.test_chain",  # exporter → Prometheus → Alertmanager → responder → fakes, per action
    "tests.e2e.test_crash",  # the responder SIGKILLed in a storm that Alertmanager is delivering
    "tests.e2e.test_ha",  # two clustered Alertmanagers, stale firings after a resolve
    "tests.e2e.test_outages",  # Kubernetes, Slack, PagerDuty and Twilio failing at once
    "tests.e2e.test_fuzz",  # hypothesis over HTTP against the live responder
    "tests.e2e.test_demo",  # scripts/demo's story
    "tests.e2e.test_reconcile",  # a real Alertmanager read back: missed firings and resolves
    "tests.e2e.test_silences",  # silences for acknowledged alerts in a real Alertmanager
    "tests.kube.test_stop",  # EMERGENCY_STOP and restore on a real kube-apiserver
    "tests.kube.test_freeze",  # FREEZE_DEPLOYMENTS with the real deployment controller
    "tests.kube.test_investigate",  # INVESTIGATE reading the real server
    "tests.kube.test_targets",  # selectors resolved by the real server; guards
    "tests.kube.test_rbac",  # the generated Roles on the real RBAC authorizer
    "tests.kube.test_manifests",  # deploy/kubernetes applied with server-side dry-run
    "tests.kube.test_contract",  # the fake and the real server answer alike
    "tests.kube.test_demo",  # scripts/demo --real-kube
    "tests.image.test_image",  # the Containerfile built with no registry, run read-only from its unpacked image
    "tests.browser.test_console",  # the operator console in a real headless Chromium
    "tests.unit.journal.test_protocol",  # the journal protocol on SQLite and on a real PostgreSQL server
    "tests.unit.journal.test_postgres",  # several replicas on one real PostgreSQL database
    "tests.unit.journal.test_journal_commands",  # journal migrate and copy against a real server
    "tests.e2e.test_replicas",  # two replicas on one PostgreSQL behind one address, the Alertmanager pair
    "tests.e2e.test_replicas_chaos",  # a replica SIGKILLed, stopped, and PostgreSQL crashed in a storm; failover
    "tests.prometheus.test_backtest",  # backtest counts from a known ALERTS history on a real Prometheus
)


def outcomes(report: Path) -> dict[str, Counter[str]]:
    """Per test module: how many test cases passed, failed, were skipped, or failed as marked (xfailed).

    An expected failure is a known defect a test names (`xfail(strict=True)`), not a test that did not run."""
    counts: dict[str, Counter[str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "")
        children = {child.tag: child for child in case}
        outcome = next((t for t in ("failure", "error", "skipped") if t in children), "passed")
        if outcome == "skipped" and children["skipped"].get("type") == "pytest.xfail":
            outcome = "xfailed"
        counts.setdefault(module, Counter())[outcome] += 1
    return counts


def problems(counts: dict[str, Counter[str]]) -> list[str]:
    found = []
    for module in REQUIRED_MODULES:
        seen = counts.get(module, Counter())
        if seen["passed"] == 0:
            found.append(f"{module}: no test passed; the real binaries or processes did not run")
        if seen["skipped"]:
            found.append(f"{module}: {seen['skipped']} test(s) skipped; CI needs every one to run")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.ci_guard JUNIT_XML", file=sys.stderr)
        return 2
    report = Path(argv[0])
    if not report.exists():
        print(f"{report}: no JUnit report; did pytest run with --junitxml?", file=sys.stderr)
        return 1
    counts = outcomes(report)
    found = problems(counts)
    for problem in found:
        print(f"ci_guard: {problem}", file=sys.stderr)
    for module in REQUIRED_MODULES:
        print(f"ci_guard: {module}: {counts.get(module, Counter())['passed']} passed")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
