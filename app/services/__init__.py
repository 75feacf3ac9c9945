"""What the views do to jobs, written once for every kind: read, submit, wait, cancel, list."""
