"""The Bible builders: OSIS cleaning, verse alignment, and real sets built from Debian's SWORD modules."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from densefit.data.beir import load_beir
from densefit.data.builders.bible import aligned_refs, bible_verses, build_bible_parallel, \
    build_bible_retrieval, clean_verse
from densefit.errors import DensefitError, UnknownNameError


def test_clean_verse_drops_notes_titles_and_tags() -> None:
    raw = ('<title type="psalm">A Psalm of David.</title><w lemma="H1">God</w><note placement="foot">'
           '<reference>1:1</reference>Elohim.</note><w lemma="H2">created</w> ¶ the  earth. ')
    assert clean_verse(raw) == "God created the earth."


def test_aligned_refs_need_both_sides_enough_words_and_unique_text() -> None:
    a = {"A.1.1": "one two three", "A.1.2": "too short", "A.1.3": "only in a here", "A.1.4": "same words here",
         "A.1.5": "same words here", "A.1.6": "four five six"}
    b = {"A.1.1": "uno dos tres", "A.1.2": "uno dos tres cuatro", "A.1.4": "x y z", "A.1.5": "x y w",
         "A.1.6": "cuatro cinco seis"}
    assert sorted(aligned_refs(a, b, seed=0)) == ["A.1.1", "A.1.6"]
    assert aligned_refs(a, b, seed=1) == aligned_refs(a, b, seed=1)


def test_unknown_translation_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="KJV, SpaRV, WEB"):
        bible_verses("NIV", cache_dir=tmp_path)


@pytest.mark.slow
def test_real_sets_from_the_sword_modules(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    ruth = bible_verses("KJV", cache_dir=cache, books=["Ruth"])
    assert len(ruth) == 85 and ruth["Ruth.1.16"].startswith("And Ruth said, Intreat me not to leave thee")
    retrieval = load_beir(build_bible_retrieval(tmp_path / "kjv-web", queries=200, dev_queries=20,
                                                corpus_size=1000, cache_dir=cache))
    assert len(retrieval.corpus) == 1000 and len(retrieval.judged_queries()) == 200
    for qid, rel in retrieval.qrels.items():
        assert list(rel) == [qid.removeprefix("q.")]
    assert (cache / "KJV.jsonl").is_file() and (cache / "WEB.jsonl").is_file()
    parallel = build_bible_parallel(tmp_path / "en-es", train=300, test=50, cache_dir=cache)
    with open(parallel / "train.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["source", "target"] and len(rows) == 301 and all(len(r) == 2 for r in rows)
    test = load_beir(parallel / "test")
    assert len(test.corpus) == 50 and "Dios" in " ".join(test.corpus.values())
    train_sources = {r[0] for r in rows[1:]}
    assert not train_sources & set(test.queries.values())
    with pytest.raises(DensefitError, match="only .* aligned verses exist"):
        build_bible_parallel(tmp_path / "too-many", train=10**6, cache_dir=cache)
