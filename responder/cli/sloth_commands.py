"""`responder rules import-sloth FILE`: a sloth spec becomes rules/src/<service>.yaml."""

import argparse
from pathlib import Path

from responder.catalogue.load import SOURCE_DIR
from responder.catalogue.sloth import SlothSpecError, import_spec
from responder.cli.common import EXIT_OK, Commands, report
from responder.yamlio import YamlError, dump_yaml, load_yaml

HEADER = "# Imported from the sloth spec {spec} by `responder rules import-sloth`; edit freely.\n"


def add_parser(rules_commands: Commands, *parents: argparse.ArgumentParser) -> None:
    """Register `import-sloth` under `responder rules`."""
    parser = rules_commands.add_parser(
        "import-sloth", help="write rules/src/<service>.yaml from a sloth prometheus/v1 spec", parents=list(parents)
    )
    parser.add_argument("spec", type=Path, help="the sloth spec (YAML)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing source of the same name")


def run(args: argparse.Namespace) -> int:
    """Write the source, or say in words why not (a file that is not a sloth spec, an existing source)."""
    try:
        imported = import_spec(load_yaml(args.spec))
    except (YamlError, SlothSpecError, KeyError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return report([f"{args.spec}: {detail}"], "cannot import the sloth spec:")
    target = args.root / SOURCE_DIR / f"{imported.system}.yaml"
    if target.exists() and not args.force:
        return report([f"{target} exists; pass --force to overwrite it"], "refusing to import:")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(HEADER.format(spec=args.spec.name) + dump_yaml(imported.source), "utf-8")
    print(f"wrote {target} ({len(imported.source['slos'])} SLOs); run `responder rules build` next")
    for note in imported.notes:
        print(f"  note: {note}")
    return EXIT_OK
