"""HTML pages, one module per resource."""
