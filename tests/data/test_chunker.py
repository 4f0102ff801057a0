"""The chunker keeps to its token budget, keeps its metadata and overlaps neighbours by whole pieces."""

from __future__ import annotations

import random

from densefit.data.chunker import SPECIAL_TOKENS, chunk_document, pack, word_count
from densefit.data.documents.base import Document, Section

from tests.conftest import sentence


def long_text(n_paragraphs: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "\n\n".join(". ".join(sentence(rng, 9) for _ in range(rng.randint(1, 6))) + "." for _ in range(n_paragraphs))


def test_budget_and_metadata(tiny_model):
    from densefit.inference.select import load_encoder

    tok = load_encoder(tiny_model).tokenizer
    count = lambda t: len(tok(t, add_special_tokens=False)["input_ids"])  # noqa: E731
    doc = Document("guide/disk.md", "Disk guide", [Section("Quotas", long_text(30)), Section("Grace", "Short one.")])
    chunks = chunk_document(doc, budget=64, overlap=12, count=count)
    assert len(chunks) > 5
    for c in chunks:
        assert count(c.title) + count(c.text) + SPECIAL_TOKENS <= 64
        assert c.source == "guide/disk.md" and c.heading in ("Quotas", "Grace")
    assert {c.title for c in chunks} == {"Disk guide › Quotas", "Disk guide › Grace"}
    assert len({c.id for c in chunks}) == len(chunks)


def test_overlap_repeats_the_tail_of_the_previous_chunk():
    text = "\n\n".join(f"Paragraph {i} says {' '.join(['word'] * 5)}." for i in range(12))
    chunks = pack(text, budget=40, overlap=15, count=word_count)
    assert len(chunks) >= 3
    for before, after in zip(chunks, chunks[1:]):
        assert before.split("\n")[-1] == after.split("\n")[0]
    no_overlap = pack(text, budget=40, overlap=0, count=word_count)
    assert sum(len(c.split("\n")) for c in no_overlap) == 12


def test_an_oversized_sentence_is_cut_into_windows():
    chunks = pack(" ".join(f"w{i}" for i in range(500)), budget=50, overlap=0, count=word_count)
    assert all(word_count(c) <= 50 for c in chunks)
    assert " ".join(chunks).split() == [f"w{i}" for i in range(500)]


def test_a_paragraph_with_more_words_than_the_budget_is_split_without_being_tokenized():
    seen = []

    def count(text: str) -> int:
        seen.append(text)
        return word_count(text)

    long_paragraph = " ".join(f"Sentence {i} has five words." for i in range(30))  # 150 words, budget 40
    chunks = pack(f"A short opening paragraph.\n\n{long_paragraph}", budget=40, overlap=0, count=count)
    assert long_paragraph not in seen                       # every word is a token at least: over the budget
    assert "A short opening paragraph." in seen
    assert chunks == pack(f"A short opening paragraph.\n\n{long_paragraph}", budget=40, overlap=0, count=word_count)
    assert all(word_count(c) <= 40 for c in chunks)
