"""The monitor process: consumes Celery task events and keeps job history in a database.

Never imports Flask or `app`; the web side only reads the history it writes.
"""
