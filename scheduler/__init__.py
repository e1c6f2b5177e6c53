"""Scheduler: configuration, the composition root, the daemon and the command line."""
