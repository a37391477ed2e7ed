"""Grafana dashboards generated from the alert catalogue and the sources under dashboards/src/."""
