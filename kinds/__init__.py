"""The job kinds: each subpackage declares one kind (`KIND`) for the job core.

A kind's `__init__` is its declaration, safe for the web to import; its computation
lives in a module only workers import (the kind's `executor`). JOB_KINDS lists the
kinds a deployment serves (default: jobs.settings.DEFAULT_KINDS).
"""
