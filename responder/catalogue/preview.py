"""Run a local Prometheus on the generated rules, to see them load and evaluate.

Until the responder exists this is what `scripts/run` starts: the quickest way for an operator to
see every alert in the Prometheus UI (with AlertResponderDown firing, since no responder is
scraped yet). Bound to 127.0.0.1; data lives under the given directory.
"""

from pathlib import Path

from responder.catalogue.rules import RULES_DIR
from responder.yamlio import dump_yaml


def prometheus_config(root: Path, listen: str) -> str:
    config = {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": [str((root / RULES_DIR).resolve() / "*.rules.yml")],
        "scrape_configs": [{"job_name": "prometheus", "static_configs": [{"targets": [listen]}]}],
    }
    return dump_yaml(config)


def prometheus_argv(root: Path, data: Path, listen: str, binary: str) -> list[str]:
    """Write the config under `data` and return the command that serves it."""
    data.mkdir(parents=True, exist_ok=True)
    config = data / "prometheus.yml"
    config.write_text(prometheus_config(root, listen), "utf-8")
    return [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={data / 'tsdb'}",
        f"--web.listen-address={listen}",
    ]
