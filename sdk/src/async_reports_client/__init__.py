"""Python SDK for the async-reports service: submit jobs, poll them politely, fetch results.

from async_reports_client import Client

with Client("http://127.0.0.1:8000") as client:
    report = client.reports.submit("yearly-sales", year=2023).result()
"""

from async_reports_client.aio import AsyncClient, AsyncOperation
from async_reports_client.client import Client, Operation
from async_reports_client.errors import (
    AsyncReportsError,
    Conflict,
    Gone,
    InvalidRequest,
    JobCancelled,
    JobFailed,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    Unauthorized,
    Unavailable,
)
from async_reports_client.policy import PollPolicy

__all__ = [
    "AsyncClient",
    "AsyncOperation",
    "AsyncReportsError",
    "Client",
    "Conflict",
    "Gone",
    "InvalidRequest",
    "JobCancelled",
    "JobFailed",
    "NotFound",
    "Operation",
    "PollPolicy",
    "RateLimited",
    "ServerError",
    "Timeout",
    "Unauthorized",
    "Unavailable",
]
