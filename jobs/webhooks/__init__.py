"""Webhooks for every kind: signed (Standard Webhooks) POSTs of a job's events, with retries.

The web and the workers record a delivery (jobs/store/webhooks.py) when a job reaches an
event its client asked for; the webhook worker (worker/webhooks.py) attempts it, and
attempts it again on the retry schedule until the receiver answers 2xx.
"""
