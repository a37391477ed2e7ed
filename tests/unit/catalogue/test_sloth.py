import argparse
from pathlib import Path

import pytest

from responder.catalogue.lint import lint_report
from responder.catalogue.load import load_catalogue
from responder.catalogue.sloth import SlothSpecError, import_spec
from responder.cli import sloth_commands
from responder.yamlio import load_yaml

SPEC = Path(__file__).parent / "sloth" / "getting-started.yml"


def test_a_spec_becomes_slos_with_sloths_queries_names_and_switches() -> None:
    imported = import_spec(load_yaml(SPEC))
    assert (imported.system, imported.source["team"]) == ("myservice", "myteam")
    availability, latency = imported.source["slos"]
    assert availability["objective"] == 0.999
    assert availability["errors"].endswith("[{{.window}}]))")
    assert (availability["service"], availability["slo_id"]) == ("myservice", "requests-availability")
    assert availability["labels"] == {"owner": "myteam", "tier": "2", "category": "availability"}
    assert availability["annotations"] == {"title": "{{$labels.sloth_service}} {{$labels.sloth_slo}} error budget burn"}
    assert latency["error_ratio"].startswith("1 - (") and latency["ticket"] is False
    assert any("page_alert labels" in note for note in imported.notes)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"version": "prometheus/v2"}, "expected `version: prometheus/v1`"),
        ({"version": "prometheus/v1", "service": "x"}, "needs a service and at least one SLO"),
        (
            {
                "version": "prometheus/v1",
                "service": "x",
                "slos": [{"name": "a", "objective": 99, "sli": {"plugin": {}}}],
            },
            "only events and raw SLIs",
        ),
    ],
)
def test_what_cannot_be_imported_is_refused_in_words(spec: object, problem: str) -> None:
    with pytest.raises(SlothSpecError, match=problem):
        import_spec(spec)


def test_the_command_writes_a_source_that_loads_builds_and_lints_clean(catalogue_root: Path) -> None:
    args = argparse.Namespace(spec=SPEC, root=catalogue_root, force=False)
    assert sloth_commands.run(args) == 0
    catalogue = load_catalogue(catalogue_root)
    system = catalogue.system("myservice")
    assert [a.name for a in system.alerts] == [
        "MyServiceHighErrorRateBudgetBurnFast",
        "MyServiceHighErrorRateBudgetBurnSlow",
        "MyServiceSlowRequestsBudgetBurnFast",
    ]
    ids = {r.labels.get("sloth_id") for r in system.recording_rules}
    assert ids == {"myservice-requests-availability", "myservice-requests-latency"}
    report = lint_report(catalogue)
    assert [str(f) for f in report.findings if "myservice" in f.rule.source] == []
    assert sloth_commands.run(args) == 1  # refuses to overwrite without --force


def test_the_subcommand_parses_its_arguments(catalogue_root: Path) -> None:
    top = argparse.ArgumentParser()
    sloth_commands.add_parser(top.add_subparsers(dest="rules_command"))
    args = top.parse_args(["import-sloth", str(SPEC), "--force"])
    args.root = catalogue_root
    assert (args.rules_command, args.spec, args.force) == ("import-sloth", SPEC, True)
    assert sloth_commands.run(args) == 0
