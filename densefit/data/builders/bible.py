"""Retrieval and parallel sets built from three Bible translations, aligned by verse.

Debian ships public-domain translations as SWORD modules (`sword-text-kjv`,
`sword-text-web`, `sword-text-sparv`); they are fetched with `apt-get download`
into the cache (nothing is installed) and read with `pysword`. Each verse is
one text, and the same reference (`John.3.16`) in two translations gives:

* a paraphrase-retrieval set (KJV query -> the WEB verse), a general-domain set
  for the forgetting check;
* parallel data (English -> Spanish) for multilingual distillation, with a
  cross-lingual test set where top-1 accuracy is translation-match accuracy.

Reading a translation is slow (pysword decompresses one block per verse), so
the verses are cached as JSONL the first time, written atomically.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from densefit.data.beir import write_beir
from densefit.data.builders.debian import cache_root, fetch_debian_tree
from densefit.errors import DensefitError, UnknownNameError
from densefit.io import write_jsonl_atomic, write_text_atomic


@dataclass(frozen=True)
class Translation:
    package: str
    module: str
    language: str


TRANSLATIONS = {
    "KJV": Translation("sword-text-kjv", "engKJV2006eb", "en"),
    "WEB": Translation("sword-text-web", "engWEB2015eb", "en"),
    "SpaRV": Translation("sword-text-sparv", "spaRV1909eb", "es"),
}
HINT = "or pass your own BEIR folder / parallel file instead"
MIN_WORDS = 3
NOTE = re.compile(r"<note\b.*?</note>|<title\b.*?</title>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def clean_verse(raw: str) -> str:
    """OSIS markup -> plain text: footnotes and headings dropped, tags removed, spaces collapsed."""
    text = TAG.sub("", NOTE.sub(" ", raw)).replace("¶", " ")
    return " ".join(text.split())


def translation(name: str) -> Translation:
    if name not in TRANSLATIONS:
        raise UnknownNameError("translation", name, list(TRANSLATIONS))
    return TRANSLATIONS[name]


def _sword_tree(cache: Path) -> Path:
    packages = [t.package for t in TRANSLATIONS.values()]
    return fetch_debian_tree(packages, cache / "sword", hint=HINT) / "usr" / "share" / "sword"


def _open_bible(name: str, cache: Path):
    from pysword.modules import SwordModules

    modules = SwordModules(str(_sword_tree(cache)))
    modules.parse_modules()
    bible = modules.get_bible_from_module(translation(name).module)
    if hasattr(bible, "_decompressed_text"):  # one block holds many verses: decompress it once
        bible._decompressed_text = functools.lru_cache(maxsize=4)(bible._decompressed_text)
    return bible


def read_verses(name: str, cache: Path, books: Sequence[str] | None = None) -> dict[str, str]:
    """Reference (`Gen.1.1`) -> cleaned text, in canonical order, straight from the SWORD module."""
    bible = _open_bible(name, cache)
    structure = bible.get_structure().get_books()
    verses: dict[str, str] = {}
    for book in (b for testament in ("ot", "nt") for b in structure.get(testament, [])):
        if books is not None and book.osis_name not in books:
            continue
        texts = iter(bible.get_iter(books=[book.osis_name], clean=False))
        for chapter, length in enumerate(book.chapter_lengths, 1):
            for verse in range(1, length + 1):
                text = clean_verse(next(texts, ""))
                if text:
                    verses[f"{book.osis_name}.{chapter}.{verse}"] = text
    return verses


def bible_verses(name: str, *, cache_dir: str | os.PathLike | None = None,
                 books: Sequence[str] | None = None) -> dict[str, str]:
    """All verses of a translation ("KJV", "WEB" or "SpaRV"), read once and cached as JSONL.

    `books` (OSIS names such as "Ruth") reads only those books, uncached (for tests and samples).
    """
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / "bible"
    translation(name)
    if books is not None:
        return read_verses(name, cache, books)
    path = cache / f"{name}.jsonl"
    if not path.is_file():
        write_jsonl_atomic(path, ({"ref": ref, "text": text} for ref, text in read_verses(name, cache).items()))
    with open(path, encoding="utf-8") as fh:
        return {row["ref"]: row["text"] for row in map(json.loads, fh)}




def aligned_refs(a: dict[str, str], b: dict[str, str], seed: int) -> list[str]:
    """References with a verse of at least MIN_WORDS words in both translations, shuffled by `seed`.

    Verses whose text repeats elsewhere in either translation ("And the LORD spake unto Moses,
    saying,") are left out: a query must have exactly one right answer.
    """
    repeated = _repeated_texts(a) | _repeated_texts(b)
    refs = [r for r in a if r in b and r not in repeated and min(len(a[r].split()), len(b[r].split())) >= MIN_WORDS]
    random.Random(seed).shuffle(refs)
    return refs


def _repeated_texts(verses: dict[str, str]) -> set[str]:
    """References whose text (case-folded) occurs more than once in the translation."""
    seen: dict[str, list[str]] = {}
    for ref, text in verses.items():
        seen.setdefault(text.casefold(), []).append(ref)
    return {ref for refs in seen.values() if len(refs) > 1 for ref in refs}


def _take(refs: list[str], counts: dict[str, int]) -> dict[str, list[str]]:
    """Consecutive slices of `refs`, one per named split, or a clear error when too few."""
    if sum(counts.values()) > len(refs):
        raise DensefitError(f"asked for {counts} verses, but only {len(refs)} aligned verses exist; ask for fewer")
    out, start = {}, 0
    for split, n in counts.items():
        out[split], start = refs[start:start + n], start + n
    return out


def build_bible_retrieval(out: str | os.PathLike, *, query: str = "KJV", corpus: str = "WEB",
                          queries: int = 1000, dev_queries: int = 100, corpus_size: int | None = 5000,
                          train_queries: int = 0, seed: int = 0,
                          cache_dir: str | os.PathLike | None = None) -> Path:
    """A BEIR folder: each query is a verse in `query`; its one relevant document is that verse in `corpus`.

    The corpus holds the test, dev and train verses plus distractors up to `corpus_size` (None: every
    verse). Each verse is in one split only, so no test verse is ever trained on.
    """
    q_verses, c_verses = (bible_verses(n, cache_dir=cache_dir) for n in (query, corpus))
    refs = aligned_refs(q_verses, c_verses, seed)
    size = len(refs) if corpus_size is None else corpus_size
    counts = {"test": queries, "dev": dev_queries, "train": train_queries}
    split = _take(refs, {**counts, "rest": max(0, size - sum(counts.values()))})
    docs = [r for part in split.values() for r in part]
    named = [s for s in counts if counts[s]]
    return write_beir(out, {r: {"text": c_verses[r], "ref": r} for r in sorted(docs)},
                      {f"q.{r}": q_verses[r] for s in named for r in split[s]},
                      {s: {f"q.{r}": {r: 1} for r in split[s]} for s in named})


def build_bible_parallel(out: str | os.PathLike, *, source: str = "KJV", target: str = "SpaRV",
                         train: int = 5000, test: int = 1000, seed: int = 0,
                         cache_dir: str | os.PathLike | None = None) -> Path:
    """`out/train.tsv` (source, target) and `out/test`, a cross-lingual BEIR set of held-out verses:
    source-language queries against their target-language translations (top-1 = translation match)."""
    s_verses, t_verses = (bible_verses(n, cache_dir=cache_dir) for n in (source, target))
    split = _take(aligned_refs(s_verses, t_verses, seed), {"test": test, "train": train})
    root = Path(out)
    write_beir(root / "test", {r: {"text": t_verses[r], "ref": r} for r in split["test"]},
               {f"q.{r}": s_verses[r] for r in split["test"]}, {"test": {f"q.{r}": {r: 1} for r in split["test"]}})
    rows = ["source\ttarget"] + [f"{_flat(s_verses[r])}\t{_flat(t_verses[r])}" for r in split["train"]]
    write_text_atomic(root / "train.tsv", "\n".join(rows) + "\n")
    return root


def _flat(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


