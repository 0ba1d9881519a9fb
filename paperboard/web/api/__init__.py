"""The JSON API, one module per resource; shapes follow the Hugging Face papers API."""
