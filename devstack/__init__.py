"""Developer tooling: bring up Redis, seed data, run the Procfile processes, run the checks."""
