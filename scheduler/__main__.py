"""`python -m scheduler` runs the mediawatch command line."""

from scheduler.cli import main

main()
