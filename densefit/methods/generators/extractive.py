"""An offline query generator that needs no model: it cuts queries out of the passage itself.

Strategies, used in turn for the n queries of a passage:
- `title`: a short first line (a heading or title), when the passage has one;
- `sentence`: the first prose-like sentences, trimmed to `max_words`;
- `keyphrase`: the passage's most distinctive words (term frequency x inverse document
  frequency over the passages of the same call), in passage order;
- `cloze`: an inverse-cloze span, a random window of a random prose sentence.
Deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter

WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]+")
CODE_CHARS = re.compile(r"[#{};*=<>|]|\w\([^)]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
STOPWORDS = set("""a an the and or of to in on for is are be by with as at from this that these those it its
was were will can may must not no if then than which who when where what how into such other also each
any all only more most some their there they them he she we you your our his her has have had do does
done using used use see returns return value values one two null none""".split())
STRATEGIES = ("title", "sentence", "keyphrase", "cloze", "sentence", "cloze")


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, max_words: int = 12, keyphrase_words: int = 4, seed: int = 0) -> None:
        self.max_words, self.keyphrase_words, self.seed = max_words, keyphrase_words, seed

    @classmethod
    def from_config(cls, cfg) -> "ExtractiveGenerator":
        return cls(seed=cfg.seed)

    def describe(self) -> dict:
        return {"name": self.name, "max_words": self.max_words, "strategies": list(STRATEGIES)}

    def generate(self, passages: list[str], n: int) -> list[list[str]]:
        df = Counter(w for p in passages for w in set(_words(p)))
        split = [prose_sentences(p) for p in passages]
        common = boilerplate(split)
        rng = random.Random(self.seed)
        return [self._for_passage(p, [x for x in sents if x not in common], n, df, len(passages), rng)
                for p, sents in zip(passages, split)]

    def _for_passage(self, passage: str, sentences: list[str], n: int, df: Counter, n_docs: int,
                     rng: random.Random) -> list[str]:
        out: list[str] = []
        used_sentences = 0
        for strategy in STRATEGIES * (1 + n // len(STRATEGIES)):
            if len(out) >= n:
                break
            if strategy == "sentence":
                query = _trim(sentences[used_sentences], self.max_words) if used_sentences < len(sentences) else None
                used_sentences += 1
            else:
                query = self._one(strategy, passage, sentences, df, n_docs, rng)
            if query and query not in out:
                out.append(query)
        return out[:n] or [" ".join(passage.split()[: self.max_words])]

    def _one(self, strategy: str, passage: str, sentences: list[str], df: Counter, n_docs: int,
             rng: random.Random) -> str | None:
        if strategy == "title":
            return title(passage)
        if strategy == "keyphrase":
            return keyphrase(passage, df, n_docs, self.keyphrase_words)
        return cloze_span(sentences, rng, self.max_words)


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def _trim(sentence: str, max_words: int) -> str:
    return " ".join(sentence.split()[:max_words]).rstrip(".,;:")


def is_prose(sentence: str) -> bool:
    """At least 5 words, mostly plain words, no code punctuation: not code, a table row or a heading."""
    tokens = sentence.split()
    if len(tokens) < 5 or CODE_CHARS.search(sentence) or not sentence[0].isalpha():
        return False
    return sum(1 for t in tokens if WORD.fullmatch(t.strip(".,;:()\"'"))) / len(tokens) >= 0.8


def boilerplate(split: list[list[str]]) -> set[str]:
    """Sentences repeated across many passages (headers, licence lines): not queries."""
    counts = Counter(x for sents in split for x in set(sents))
    limit = max(2, len(split) // 100)
    return {x for x, c in counts.items() if c > limit}


def prose_sentences(passage: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(passage) if s and is_prose(s.strip())]


def title(passage: str) -> str | None:
    first = passage.strip().split("\n", 1)[0].strip()
    words = first.split()
    return first if 1 <= len(words) <= 10 and "\n" in passage.strip() and not first.isupper() else None


def keyphrase(passage: str, df: Counter, n_docs: int, k: int) -> str | None:
    words = [w for w in _words(passage) if w not in STOPWORDS and len(w) > 2]
    if not words:
        return None
    tf = Counter(words)
    score = {w: c * math.log((1 + n_docs) / (1 + df[w])) for w, c in tf.items()}
    top = set(sorted(score, key=lambda w: (-score[w], w))[:k])
    ordered = list(dict.fromkeys(w for w in words if w in top))
    return " ".join(ordered) or None


def cloze_span(sentences: list[str], rng: random.Random, max_words: int) -> str | None:
    if not sentences:
        return None
    tokens = rng.choice(sentences).split()
    size = min(len(tokens), rng.randint(max(4, max_words // 2), max_words))
    start = rng.randrange(len(tokens) - size + 1)
    return " ".join(tokens[start:start + size]).strip(".,;:")
