"""`python -m async_reports_client` is the `async-reports` command."""

from async_reports_client.cli import main

raise SystemExit(main())
