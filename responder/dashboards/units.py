"""Grafana's unit ids, as the Grafana SDK the dashboards are built with lists them.

Grafana draws a unit it does not know as a bare number with the id as a suffix ("0.2 bytez"),
without a word of warning, so a misspelt unit is refused when the sources are read. Grafana's
custom units (`suffix:…`, `prefix:…`, `time:…`, `si:…`, `count:…`, `currency:…`) are taken
as given.
"""

from grafana_foundation_sdk.models import units

from responder.schemas import nearest

KNOWN: frozenset[str] = frozenset(v for k, v in vars(units).items() if not k.startswith("_") and isinstance(v, str))
CUSTOM_PREFIXES = ("suffix:", "prefix:", "time:", "si:", "count:", "currency:")


def problem(unit: str) -> str | None:
    """What is wrong with `unit`, or None when Grafana knows it."""
    if unit in KNOWN or unit.startswith(CUSTOM_PREFIXES):
        return None
    return (
        f"{unit!r} is not a Grafana unit{nearest(unit, sorted(KNOWN))}; use a unit id such as s, bytes,"
        " percentunit, reqps or short, or a custom unit such as suffix:jobs"
    )
