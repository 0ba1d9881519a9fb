"""A researcher's library outside the store: citation export and import-file parsing.

Pure functions over ``Paper`` objects and bytes, so the web, the API and the CLI share one
implementation and the store never learns a citation format.
"""
