"""One-sentence TL;DRs of papers, computed offline from the title and abstract.

``tldr(title, abstract)`` picks the abstract sentence (or a shortened form of it) that a
linear model trained on SciTLDR-A scores highest; see ``scripts/train_tldr.py`` and
``bench/tldr.py`` for how it was trained and how well it does.
"""

from .summarizer import MAX_WORDS, tldr

__all__ = ["MAX_WORDS", "tldr"]
