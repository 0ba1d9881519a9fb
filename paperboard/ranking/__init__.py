"""Rankings computed from the store: trending (vote and comment activity decayed by age)."""

from .trending import TrendingEntry, trending_papers, trending_score

__all__ = ["TrendingEntry", "trending_papers", "trending_score"]
