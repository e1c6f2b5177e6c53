"""`python -m scheduler` runs the mediawatch command line."""

from scheduler.cli.main import main

main()
