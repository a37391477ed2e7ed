"""Placeholder replaced below."""
from responder.catalogue.model import Catalogue


def run_lint(catalogue: Catalogue) -> list[str]:
    return []
