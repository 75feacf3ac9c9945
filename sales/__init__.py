"""The sales data: its schema, its one bulk loader, CSV imports and the sample data set."""

# Knows nothing of Celery, Redis, Flask or HTTP: the web stages uploads through
# sales.staging, the worker runs them through sales.loader.
