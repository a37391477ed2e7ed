"""alert-responder: alerting as code, and an automated responder for the alerts it generates."""
