"""Paperboard: a self-hosted daily-papers hub.

The package folders follow the data's path:
sources/ -> store/ -> search/ -> ranking/ -> web/ and digest/; cli.py wires them.
"""

__version__ = "0.1.0"
