"""Search: query parsing, keyword (BM25) and semantic retrieval, fusion."""
