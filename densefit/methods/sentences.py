"""Corpus documents -> training sentences, for TSDAE and MLM.

Long documents are split at sentence ends and blank lines; very short fragments (option
names, headings) are dropped, and long sentences are cut into windows of `max_words`.
"""

from __future__ import annotations

import random
import re

from densefit.data.corpus import load_corpus
from densefit.errors import DataError

SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
MIN_WORDS, MAX_WORDS = 4, 48


def split_sentences(text: str, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """Sentences of `text` with at least `min_words` words, long ones cut to `max_words`."""
    out = []
    for piece in SENTENCE_END.split(text):
        words = piece.split()
        for start in range(0, len(words), max_words):
            window = words[start:start + max_words]
            if len(window) >= min_words:
                out.append(" ".join(window))
    return out


def sample(items: list[str], limit: int, seed: int) -> list[str]:
    """At most `limit` items (0: all), a seeded random sample in their original order."""
    if not limit or len(items) <= limit:
        return items
    keep = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in keep]


def corpus_sentences(path: str, *, limit: int = 0, seed: int = 0) -> tuple[list[str], dict]:
    """Unique sentences from a corpus (BEIR folder, .txt, or table with a text column) and a summary."""
    corpus = load_corpus(path)
    seen: dict[str, None] = {}
    for text in corpus.texts:
        for sent in split_sentences(text):
            seen.setdefault(sent)
    sentences = list(seen)
    if not sentences:
        raise DataError(f"no sentence of at least {MIN_WORDS} words", path=path,
                        expected="documents or sentences of running text")
    chosen = sample(sentences, limit, seed)
    return chosen, {**corpus.summary(), "sentences": len(sentences), "sentences_used": len(chosen)}


def corpus_path(cfg) -> str:
    """The documents a corpus-only method reads: --corpus, else --train."""
    path = cfg.corpus or cfg.train
    if not path:
        from densefit.errors import ConfigError

        raise ConfigError(f"--method {cfg.method} needs documents. Fix: pass --corpus FILE (or --train FILE)")
    return path
