"""The job model shared by the web and worker processes: keys, store, states, catalogue."""
