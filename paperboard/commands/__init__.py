"""CLI command modules, registered on the group in paperboard/cli.py."""
