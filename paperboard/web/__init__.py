"""The web site and JSON API (FastAPI + Jinja2, server-rendered, works without JavaScript)."""
