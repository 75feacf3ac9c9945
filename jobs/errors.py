"""Errors of the shared job layer; the web maps them to problem details in one place."""


class JobsError(Exception):
    """Base of every error raised by the job layer."""


class StoreUnavailable(JobsError):
    """Raised when the job store (Redis) cannot be reached or does not answer in time."""


class BrokerUnavailable(JobsError):
    """Raised when a job cannot be handed to the broker."""
