"""The HTTP resources: one blueprint per job kind, plus data, health, ops and metrics."""
