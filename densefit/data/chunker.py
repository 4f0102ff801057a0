"""Structure-aware chunks: a document's sections are cut at paragraphs, then sentences, then words, and
packed up to a token budget, with an overlap of whole pieces between neighbouring chunks of a section.

Each chunk keeps `source`, `title` and `heading`. Its `title` ("page title › heading") is what search
shows and what the encoder reads before the text, so the budget counts it too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from densefit.data.documents.base import Document

SENTENCE = re.compile(r"(?<=[.!?;:])\s+")
SEPARATOR = " › "
SPECIAL_TOKENS = 2          # [CLS] and [SEP]: the model's limit includes them
MIN_BODY_TOKENS = 16        # a title so long it leaves less than this is cut to make room


def word_count(text: str) -> int:
    """A tokenizer-free estimate (1.4 word pieces per word, as the recipe's planner assumes)."""
    return round(len(text.split()) * 1.4)


@dataclass
class Chunk:
    id: str
    text: str
    source: str
    title: str
    heading: str

    def row(self) -> dict:
        row = asdict(self)
        row["_id"] = row.pop("id")
        return row


def _fits(text: str, budget: int, count: Callable[[str], int]) -> bool:
    """Whether `text` fits the budget. Every word is at least one token, so a text with more words than the
    budget is over it without tokenizing it (most of a build's chunking time went to such paragraphs)."""
    return len(text.split()) <= budget and count(text) <= budget


def _pieces(text: str, budget: int, count: Callable[[str], int]) -> list[str]:
    """Paragraphs; one over the budget becomes sentences; a sentence over it, word windows."""
    out = []
    for paragraph in text.split("\n\n"):
        if _fits(paragraph, budget, count):
            out.append(paragraph)
            continue
        for sentence in SENTENCE.split(paragraph):
            out.extend([sentence] if _fits(sentence, budget, count) else _word_windows(sentence, budget, count))
    return [p for p in out if p.strip()]


def _word_windows(text: str, budget: int, count: Callable[[str], int]) -> list[str]:
    words = text.split()
    step = max(1, int(len(words) * budget / max(1, count(text))))
    return [" ".join(words[i:i + step]) for i in range(0, len(words), step)]


def _overlap_tail(pieces: list[tuple[str, int]], overlap: int) -> list[tuple[str, int]]:
    tail, total = [], 0
    for piece in reversed(pieces):
        if total + piece[1] > overlap:
            break
        tail.insert(0, piece)
        total += piece[1]
    return tail if len(tail) < len(pieces) else []


def pack(text: str, budget: int, overlap: int, count: Callable[[str], int]) -> list[str]:
    """The text as chunks of at most `budget` tokens (by `count`), neighbours sharing up to `overlap`."""
    chunks, current = [], []
    for piece in _pieces(text, budget, count):
        size = count(piece)
        if current and sum(n for _, n in current) + size > budget:
            chunks.append(current)
            current = _overlap_tail(current, overlap)
            while current and sum(n for _, n in current) + size > budget:
                current.pop(0)
        current.append((piece, size))
    if current:
        chunks.append(current)
    return ["\n".join(p for p, _ in c) for c in chunks]


def chunk_id(source: str, n: int, title: str, text: str) -> str:
    """Stable while the text is: a changed chunk gets a new id, so re-indexing touches only changed chunks."""
    return f"{source}#{n}-{hashlib.sha256((title + chr(10) + text).encode()).hexdigest()[:8]}"


def chunk_title(doc: Document, heading: str) -> str:
    return f"{doc.title}{SEPARATOR}{heading}" if heading and heading != doc.title else doc.title


def chunk_document(doc: Document, budget: int, overlap: int,
                   count: Callable[[str], int] = word_count) -> list[Chunk]:
    """Every section of `doc` cut into chunks whose title plus text fit `budget` tokens."""
    chunks = []
    for section in doc.sections:
        title = chunk_title(doc, section.heading)
        room = budget - SPECIAL_TOKENS - count(title)
        if room < MIN_BODY_TOKENS:
            title = " ".join(title.split()[:8])
            room = budget - SPECIAL_TOKENS - count(title)
        for text in pack(section.text, max(MIN_BODY_TOKENS, room), overlap, count):
            chunks.append(Chunk(chunk_id(doc.source, len(chunks), title, text), text, doc.source, title,
                                section.heading))
    return chunks
