"""`python -m scanguard`."""

from .cli.app import main

main()
