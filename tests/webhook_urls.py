"""Webhook URLs to internal addresses, which the SSRF check refuses: one list for the unit
tests of jobs.webhooks.urls and the integration tests through the real web process."""

from __future__ import annotations

INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:8080/hook",
    "http://localhost/hook",  # a name that resolves to loopback
    "https://192.168.1.20/hook",
    "http://224.0.0.1/hook",
]
# Spellings checked without a stack only (the unit tests add them to the list above).
UNSPECIFIED_AND_MAPPED_URLS = [
    "http://0.0.0.0/hook",
    "http://[::ffff:127.0.0.1]/hook",
]
