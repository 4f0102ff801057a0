"""A BEIR-style retrieval set built from chatterbot-corpus, small-talk dialogues in 28 languages.

The `chatterbot-corpus` package (PyPI) holds YAML files, one folder per language, each a list of
conversations. Each conversation gives one pair:

* the query is its first utterance ("What is AI?");
* the relevant document is the reply, the rest of the conversation one utterance a line.

Identical replies are one document and identical questions one query with several relevant
documents ("Are you sapient?" has four answers). Pairs whose reply contains the whole question
("Hello" -> "Hello, how are you?") are dropped: they would only test word overlap.

English alone has 736 distinct questions; once the split drops those whose answers fall in
different splits, 300 test queries leave under 300 for training (measured: 321 test, 283 train
from 400 test documents). So every language goes into one shared corpus (about 4,500 queries).

A document's `lang` field names the language folder(s) its text comes from ("english", or
"chinese,traditionalchinese" for a text both share); queries.jsonl holds only ids and texts, so a
query's language is that of its relevant documents. Document ids are a hash of the text, so a
reply keeps its id, and its split, when a new release of the package adds conversations.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from densefit.data.beir import write_beir
from densefit.data.builders.splits import MIN_TEST, SetSummary, SplitSet, check_split, split_by_document
from densefit.errors import DensefitError, UnknownNameError

MAX_TRAIN = 4000
INSTALL = "`pip install chatterbot-corpus`"


@dataclass(frozen=True)
class Pair:
    """One conversation: its language folder, first utterance, and the rest, one utterance a line."""

    lang: str
    question: str
    answer: str


def _clean(utterance: str) -> str:
    return " ".join(utterance.split())


def _normalise(text: str) -> str:
    """Case and whitespace folded, as `splits.verbatim_leaks` compares texts."""
    return " ".join(text.lower().split())


def parse_conversations(yaml_text: str, lang: str, dropped: dict[str, int],
                        source: str = "<text>") -> list[Pair]:
    """The pairs of one corpus file; counts conversations that are not two or more strings as malformed.

    A pair whose answer contains its question (case- and space-insensitively) is counted and dropped.
    """
    try:
        data = yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        raise DensefitError(f"{source} is not valid YAML ({' '.join(str(exc).split())}); reinstall the "
                            "package: `pip install --force-reinstall chatterbot-corpus`") from None
    conversations = (data.get("conversations") or []) if isinstance(data, dict) else []
    pairs = []
    for conversation in conversations:
        pair = _pair(conversation, lang)
        if pair is None:
            _count(dropped, "malformed")
        elif _normalise(pair.question) in _normalise(pair.answer):
            _count(dropped, "answer_contains_question")
        else:
            pairs.append(pair)
    return pairs


def _count(dropped: dict[str, int], reason: str, n: int = 1) -> None:
    dropped[reason] = dropped.get(reason, 0) + n


def _pair(conversation: object, lang: str) -> Pair | None:
    """A conversation as a pair, or None unless it is a list of at least two non-empty strings."""
    if not isinstance(conversation, list) or len(conversation) < 2:
        return None
    if not all(isinstance(u, str) and u.strip() for u in conversation):
        return None
    return Pair(lang, _clean(conversation[0]), "\n".join(_clean(u) for u in conversation[1:]))


# --------------------------------------------------------------------------- corpus folder


def corpus_languages(data_dir: Path) -> list[str]:
    """The language folders (`english`, `spanish`...) that hold at least one `.yml` file."""
    if not data_dir.is_dir():
        return []
    return sorted(d.name for d in data_dir.iterdir() if d.is_dir() and any(d.glob("*.yml")))


def read_pairs(data_dir: Path, languages: Iterable[str], dropped: dict[str, int]) -> list[Pair]:
    """Every pair of the given language folders, file by file in name order."""
    return [pair for lang in languages for path in sorted((data_dir / lang).glob("*.yml"))
            for pair in parse_conversations(path.read_text(encoding="utf-8"), lang, dropped, str(path))]


def package_data_dir() -> Path:
    """The installed package's `data/` folder, or an error that says how to install it."""
    try:
        import chatterbot_corpus
    except ImportError:
        raise DensefitError(f"the chatterbot set is built from the chatterbot-corpus package, which is not "
                            f"installed; install it with {INSTALL}") from None
    return Path(chatterbot_corpus.__file__).parent / "data"


# --------------------------------------------------------------------------- pairs -> set


def doc_id(text: str) -> str:
    """`a` and 16 hex digits of the text's sha1: stable when other texts are added or removed."""
    return "a" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def group_pairs(pairs: Iterable[Pair]) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """(corpus, groups): one document per distinct answer, one query per distinct question."""
    langs: dict[str, set[str]] = {}
    groups: dict[str, set[str]] = {}
    for pair in pairs:
        langs.setdefault(pair.answer, set()).add(pair.lang)
        groups.setdefault(pair.question, set()).add(doc_id(pair.answer))
    corpus = {doc_id(text): {"text": text, "lang": ",".join(sorted(ls))} for text, ls in langs.items()}
    return dict(sorted(corpus.items())), {q: sorted(ids) for q, ids in sorted(groups.items())}


def split_pairs(pairs: Sequence[Pair], *, test: int, dev: int, seed: int,
                dropped: dict[str, int]) -> SplitSet:
    """Group the pairs and split them by document; queries lost to the split are counted in `dropped`."""
    corpus, groups = group_pairs(pairs)
    split = functools.partial(split_by_document, groups, corpus, test=test, dev=dev, seed=seed)
    full, capped = split(), split(train=MAX_TRAIN)
    _count(dropped, "straddles_splits", len(groups) - len(full.queries))
    _count(dropped, "over_train_cap", len(full.queries) - len(capped.queries))
    return capped


# --------------------------------------------------------------------------- public entry points


ChatterbotSummary = SetSummary  # the one summary every builder returns


def build_from_folder(data_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
                      languages: Sequence[str] | None = None, test_docs: int = 500, dev_docs: int = 150,
                      seed: int = 0, min_test: int = MIN_TEST) -> ChatterbotSummary:
    """Build the set from a corpus `data/` folder (one sub-folder of `.yml` files per language).

    `languages` (folder names) defaults to every language; `test_docs` and `dev_docs` count the
    documents drawn for those splits, whose queries follow them.
    """
    start = time.perf_counter()
    root = Path(data_dir)
    available = corpus_languages(root)
    if not available:
        raise DensefitError(f"no language folders of .yml files in {root}; pass the `data` folder of the "
                            f"chatterbot-corpus package ({INSTALL})")
    for lang in languages or ():
        if lang not in available:
            raise UnknownNameError("chatterbot-corpus language", lang, available)
    dropped: dict[str, int] = {}
    pairs = read_pairs(root, languages or available, dropped)
    data = check_split(split_pairs(pairs, test=test_docs, dev=dev_docs, seed=seed, dropped=dropped),
                       "chatterbot-corpus", min_test=min_test)
    out = write_beir(out_dir, data.corpus, data.queries, data.qrels)
    return ChatterbotSummary(out_dir=out, docs=len(data.corpus), queries=len(data.queries),
                             split_sizes=data.split_sizes(), languages=language_sizes(data, pairs),
                             dropped=dict(sorted(dropped.items())), seconds=time.perf_counter() - start)


def language_sizes(data: SplitSet, pairs: Iterable[Pair]) -> dict[str, dict[str, int]]:
    """Per language: pairs read, documents with that language, and queries per split asked in it."""
    asked_in: dict[str, set[str]] = {}
    counts: dict[str, dict[str, int]] = {}
    for pair in pairs:
        asked_in.setdefault(pair.question, set()).add(pair.lang)
        counts.setdefault(pair.lang, dict.fromkeys(("pairs", "docs", *data.qrels), 0))["pairs"] += 1
    for row in data.corpus.values():
        for lang in row["lang"].split(","):
            counts[lang]["docs"] += 1
    for split, qrels in data.qrels.items():
        for qid in qrels:
            for lang in asked_in[data.queries[qid]]:
                counts[lang][split] += 1
    return dict(sorted(counts.items()))


def build_chatterbot(out_dir: str | os.PathLike, *, languages: Sequence[str] | None = None,
                     test_docs: int = 500, dev_docs: int = 150, seed: int = 0) -> ChatterbotSummary:
    """Build the set from the installed chatterbot-corpus package (see `build_from_folder`)."""
    return build_from_folder(package_data_dir(), out_dir, languages=languages, test_docs=test_docs,
                             dev_docs=dev_docs, seed=seed)
