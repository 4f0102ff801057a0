"""A BEIR-style retrieval set built from the Debian Reference, in English, Spanish and German.

The `debian-reference-{en,es,de}` packages ship the book as HTML, one file per chapter (preface,
12 chapters, appendix). Each section (an h2-h6 heading and the prose up to the next heading) gives
one query and one document:

* the query is the heading without its number ("1.2.3. Filesystem permissions" ->
  "Filesystem permissions");
* the relevant document is the section's own text, titled with its chapter's title.

English alone has 449 sections, and after dropping the empty ones and those whose heading appears
word for word in the text only about 300 are left: too few for 300 test queries, a dev split and
a useful train split. So the set holds all three languages: each language's headings query that
language's sections (query ids `en-q0001`, doc ids `en/ch01#_the_shell_prompt`), and all three
share one corpus. A section and its translations always land in the same split, so a model is
never trained on the German version of an English test section; at test time the translations are
distractors, which a multilingual model may rank first.

Other sections name a section in cross-references ("see Section 1.1.6, “Virtual consoles”"); that
link text is left out, or distractors would quote other queries word for word. Navigation, tables
of contents, footnotes and admonition labels ("Tip") are left out too. A Spanish or German section
that reads as English (more English function words than its own language's: left untranslated,
or mostly an English package table) is dropped, since it would nearly duplicate the English
section and tie with it. The packages are fetched with `apt-get download` and unpacked with
`dpkg-deb -x` into a cache folder (one per language): nothing is installed.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from densefit.data.beir import write_beir
from densefit.data.builders.debian import cache_root, fetch_debian_tree
from densefit.data.builders.manpages import OWN_DATA_HINT
from densefit.data.builders.splits import (MIN_TEST, SetSummary, SplitSet, check_split, split_by_document,
                                          stable_rank)
from densefit.errors import DensefitError, UnknownNameError

LANGUAGES = ("en", "es", "de")
BOOK_DIR = Path("usr/share/debian-reference")
MAX_TRAIN = 4000

# --------------------------------------------------------------------------- HTML -> sections

SECTION_HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
BLOCKS = {"p", "div", "pre", "li", "dt", "dd", "tr", "table", "ul", "ol", "dl", "br", "blockquote",
          "h1", *SECTION_HEADINGS}
CELLS = {"td", "th"}
VOID = {"br", "img", "hr", "col", "meta", "link", "input", "area", "wbr"}
SKIPPED_DIVS = {"navheader", "navfooter", "toc", "footnotes"}  # navigation and back matter, not prose
SKIPPED_LINKS = {"xref", "footnote"}  # "Section 1.1.6, “Virtual consoles”" and "[1]" markers
ADMONITIONS = {"tip", "note", "caution", "warning", "important"}
SKIPPED_TAGS = {"head", "script", "style"}
# The commonest function words of each language: a Spanish or German section with more English ones
# than its own reads as English (left untranslated, or mostly an English package table).
FUNCTION_WORDS = {
    "en": frozenset("the and is are to of you your for with this that it be can by from or as not".split()),
    "es": frozenset("el la los las de del que y en es un una para con por se su como al lo más".split()),
    "de": frozenset("der die das und ist sind mit für von zu den dem des ein eine sie nicht auf auch wird"
                    .split()),
}
WORD = re.compile(r"\w+")
NUMBER = re.compile(r"^(?:\d+|[A-Z])(?:\.\d+)*\.\s+")  # "1.2.3. ", "A.1. ", "3. "
CHAPTER_LABEL = re.compile(r"^\w+\s+(?:\d+|[A-Z])\.\s+")  # "Chapter 1. ", "Kapitel 1. ", "Apéndice A. "


@dataclass(frozen=True)
class Section:
    """One section: its anchor (`_the_shell_prompt`), heading as printed, and its own text."""

    anchor: str
    heading: str
    text: str

    @property
    def query(self) -> str:
        return strip_number(self.heading)

    @property
    def number(self) -> str:
        """ "1.2.3. Filesystem permissions" -> "1.2.3"; "" for unnumbered headings."""
        match = NUMBER.match(self.heading.strip())
        return match.group(0).strip().rstrip(".") if match else ""


@dataclass
class Chapter:
    title: str
    sections: list[Section]


def strip_number(heading: str) -> str:
    """ "1.2.3. Filesystem permissions" -> "Filesystem permissions"; unnumbered headings unchanged."""
    return NUMBER.sub("", heading.strip(), count=1)


def chapter_title(h1: str) -> str:
    """ "Chapter 1. GNU/Linux tutorials" -> "GNU/Linux tutorials" (and "Kapitel 1.", "Capítulo 1.")."""
    return CHAPTER_LABEL.sub("", h1.strip(), count=1)


class _ChapterParser(HTMLParser):
    """Streams one chapter's HTML into its h1 text and (heading, anchor, lines) per section.

    Text before the first section heading (the chapter's introduction) belongs to no section.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # open tags: (tag, skipped?, admonition?)
        self.skipping = 0
        self.pre = 0
        self.line: list[str] = []
        self.heading: list[str] | None = None  # the open heading's text, while one is open
        self.heading_tag = ""
        self.anchor = ""
        self.h1 = ""
        self.sections: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if self.heading is not None and tag == "a" and not self.anchor:
            self.anchor = attr.get("id", "")
        if tag in VOID:
            if tag in BLOCKS:
                self._break()
            return
        classes = set(attr.get("class", "").split())
        skip = self._skipped(tag, classes)
        self.stack.append((tag, skip, tag == "div" and bool(classes & ADMONITIONS)))
        self.skipping += skip
        if not self.skipping:
            self._open(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        """Close `tag` and any tags left open inside it; a stray end tag is ignored."""
        if all(open_tag != tag for open_tag, _, _ in self.stack):
            return
        while self.stack:
            open_tag, skip, _ = self.stack.pop()
            if not self.skipping:
                self._close(open_tag)
            self.skipping -= skip
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.heading is not None:
            self.heading.append(data)
            return
        lines = data.split("\n") if self.pre else [data]
        self.line.append(lines[0])
        for line in lines[1:]:
            self._break()
            self.line.append(line)

    def _skipped(self, tag: str, classes: set[str]) -> bool:
        """Navigation, cross-reference links, footnotes, and the "Tip"/"Note" label of admonitions."""
        if tag in SKIPPED_TAGS or (tag == "div" and classes & SKIPPED_DIVS):
            return True
        if tag == "a" and classes & SKIPPED_LINKS:
            return True
        return tag == "th" and any(admonition for _, _, admonition in self.stack)

    def _open(self, tag: str) -> None:
        if tag == "h1" or tag in SECTION_HEADINGS:
            self._break()
            self.heading, self.heading_tag, self.anchor = [], tag, ""
        elif tag in BLOCKS:
            self._break()
            if tag == "pre":
                self.pre += 1
        elif tag in CELLS:
            self.line.append(" ")

    def _close(self, tag: str) -> None:
        if self.heading is not None and tag == self.heading_tag:
            text = " ".join("".join(self.heading).split())
            if tag == "h1":
                self.h1 = self.h1 or text
            else:
                self.sections.append((text, self.anchor, []))
            self.heading = None
        elif tag in BLOCKS:
            self._break()
            if tag == "pre":
                self.pre -= 1

    def _break(self) -> None:
        """End the current line: whitespace collapsed, added to the open section (if any)."""
        line = " ".join("".join(self.line).split())
        self.line = []
        if line and self.sections and self.heading is None:
            self.sections[-1][2].append(line)


def parse_chapter(html: str) -> Chapter:
    """A chapter's title (from its h1) and its sections, each with the text up to the next heading.

    Sections without an anchor are numbered `s1`, `s2`... in document order.
    """
    parser = _ChapterParser()
    parser.feed(html)
    parser.close()
    parser._break()
    sections = [Section(anchor or f"s{i}", heading, "\n".join(lines))
                for i, (heading, anchor, lines) in enumerate(parser.sections, 1)]
    return Chapter(title=chapter_title(parser.h1), sections=sections)


# --------------------------------------------------------------------------- book -> documents and queries


def read_book(book_dir: Path, lang: str) -> dict[str, Chapter]:
    """Page name (`ch01`, `pr01`, `apa`) -> parsed chapter, for every `<page>.<lang>.html` but the index."""
    pages = {path.name.split(".", 1)[0]: path for path in sorted(book_dir.glob(f"*.{lang}.html"))}
    pages.pop("index", None)
    if not pages:
        raise DensefitError(f"no Debian Reference chapters (`ch01.{lang}.html`...) in {book_dir}; is "
                            f"debian-reference-{lang} a language the Debian Reference ships? {OWN_DATA_HINT}")
    return {page: parse_chapter(path.read_text(encoding="utf-8")) for page, path in pages.items()}


def _normalise(text: str) -> str:
    """Case and whitespace folded, as `splits.verbatim_leaks` compares texts."""
    return " ".join(text.lower().split())


@dataclass
class LanguageSet:
    """One language's documents (keyed by `page#anchor`, shared by every language) and queries."""

    corpus: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)


def reads_as_english(text: str, lang: str) -> bool:
    """Does a `lang` text hold more English function words than `lang` ones? (False for English.)"""
    if lang == "en":
        return False
    words = WORD.findall(text.lower())
    return sum(w in FUNCTION_WORDS["en"] for w in words) > sum(w in FUNCTION_WORDS[lang] for w in words)


def language_set(chapters: Mapping[str, Chapter], lang: str, earlier: Sequence[LanguageSet],
                 dropped: dict[str, int]) -> LanguageSet:
    """Documents and heading queries of one language, given the `earlier` languages' sets; counts
    what it drops in `dropped`.

    A section is no document when it has no text, when its text is already a document (identical
    documents could only tie), or when a translation reads as English: it would nearly duplicate
    the English section. A heading is no query when it is found word for word in its chapter title
    or text, or when an earlier language already asks it (a heading left untranslated: one text
    cannot ask for two different documents); its section stays in the corpus as a distractor.
    """
    texts = {row["text"] for part in earlier for row in part.corpus.values()}
    asked = {query for part in earlier for query in part.groups}
    out = LanguageSet()
    for page, chapter in sorted(chapters.items()):
        for section in chapter.sections:
            reason = _document_problem(section, lang, texts)
            if reason:
                _count(dropped, reason)
                continue
            texts.add(section.text)
            key = f"{page}#{section.anchor}"
            out.corpus[key] = {"title": chapter.title, "text": section.text, "lang": lang,
                               "section": section.number}
            query = " ".join(section.query.split())
            reason = _query_problem(query, f"{chapter.title} {section.text}", asked)
            if reason:
                _count(dropped, reason)
                continue
            out.groups.setdefault(query, []).append(key)
    return out


def _count(dropped: dict[str, int], reason: str, n: int = 1) -> None:
    dropped[reason] = dropped.get(reason, 0) + n


def _document_problem(section: Section, lang: str, texts: set[str]) -> str:
    if not section.text:
        return "empty"
    if section.text in texts:
        return "duplicate_text"
    return "untranslated" if reads_as_english(section.text, lang) else ""


def _query_problem(query: str, document: str, asked: set[str]) -> str:
    if _normalise(query) in _normalise(document):  # an empty heading is "in" every text too
        return "heading_in_text"
    return "heading_of_earlier_language" if query in asked else ""


# --------------------------------------------------------------------------- splits


def aligned_split_sizes(keys: Mapping[str, Iterable[str]], *, test: int, dev: int,
                        seed: int) -> dict[str, tuple[int, int]]:
    """Per language, how many test and dev documents to ask `split_by_document` for, so that every
    language's version of a section lands in the same split.

    `split_by_document` ranks a language's documents by `stable_rank(key, seed)` and takes the first
    ones for test, then dev. Ranking the union of every language's keys the same way and cutting it
    at `test` and `test + dev` sections tells how many of each language's keys fall before each cut.
    """
    ranked = sorted({k for ks in keys.values() for k in ks}, key=lambda k: (stable_rank(k, seed), k))
    test_keys, dev_keys = set(ranked[:test]), set(ranked[test:test + dev])
    return {lang: (len(test_keys.intersection(ks)), len(dev_keys.intersection(ks)))
            for lang, ks in keys.items()}


def _tag_language(data: SplitSet, lang: str) -> SplitSet:
    """Doc ids `ch01#_x` -> `en/ch01#_x`, so each language's documents are distinct."""
    def tag(doc_id: str) -> str:
        return f"{lang}/{doc_id}"

    return SplitSet(corpus={tag(d): row for d, row in data.corpus.items()}, queries=data.queries,
                    qrels={split: {q: {tag(d): g for d, g in rel.items()} for q, rel in qrels.items()}
                           for split, qrels in data.qrels.items()})


def _merge(parts: Sequence[SplitSet]) -> SplitSet:
    return SplitSet(corpus={d: row for part in parts for d, row in part.corpus.items()},
                    queries={q: text for part in parts for q, text in part.queries.items()},
                    qrels={split: {q: rel for part in parts for q, rel in part.qrels[split].items()}
                           for split in parts[0].qrels})


def split_languages(sets: Mapping[str, LanguageSet], *, test: int, dev: int, seed: int,
                    dropped: dict[str, int]) -> SplitSet:
    """Split each language by document, aligned across languages, and merge them into one set.

    `test` and `dev` count sections (each in up to every language); train keeps at most MAX_TRAIN
    queries in all. Queries lost to the split are counted in `dropped`.
    """
    relevant = {lang: {k for ks in part.groups.values() for k in ks} for lang, part in sets.items()}
    sizes = aligned_split_sizes(relevant, test=test, dev=dev, seed=seed)
    parts = []
    for lang, part in sets.items():
        n_test, n_dev = sizes[lang]
        split = functools.partial(split_by_document, part.groups, part.corpus, test=n_test, dev=n_dev,
                                  seed=seed, prefix=f"{lang}-q")
        full, capped = split(), split(train=MAX_TRAIN // len(sets))
        _count(dropped, "straddles_splits", len(part.groups) - len(full.queries))
        _count(dropped, "over_train_cap", len(full.queries) - len(capped.queries))
        parts.append(_tag_language(capped, lang))
    return _merge(parts)


# --------------------------------------------------------------------------- public entry points


DebrefSummary = SetSummary  # the one summary every builder returns


def build_from_book(books: Mapping[str, str | os.PathLike], out_dir: str | os.PathLike, *,
                    test_sections: int = 135, dev_sections: int = 40, seed: int = 0,
                    min_test: int = MIN_TEST) -> DebrefSummary:
    """Build the set from unpacked HTML: `books` maps a language to the folder of its `ch01.<lang>.html`...

    Languages (of LANGUAGES) come first to last in `books` order; a section text or heading seen in
    an earlier language is dropped from the later one, so put English first.
    """
    start = time.perf_counter()
    _check_languages(books)
    dropped: dict[str, int] = {}
    sets: dict[str, LanguageSet] = {}
    for lang, folder in books.items():
        sets[lang] = language_set(read_book(Path(folder), lang), lang, list(sets.values()), dropped)
    data = check_split(split_languages(sets, test=test_sections, dev=dev_sections, seed=seed, dropped=dropped),
                       "Debian Reference", min_test=min_test)
    out = write_beir(out_dir, data.corpus, data.queries, data.qrels)
    return DebrefSummary(out_dir=out, docs=len(data.corpus), queries=len(data.queries),
                         split_sizes=data.split_sizes(), languages=_language_sizes(data, books),
                         dropped=dict(sorted(dropped.items())), seconds=time.perf_counter() - start)


def _check_languages(languages: Iterable[str]) -> None:
    """Only languages with FUNCTION_WORDS can be checked for untranslated sections."""
    for lang in languages:
        if lang not in FUNCTION_WORDS:
            raise UnknownNameError("Debian Reference language", lang, list(FUNCTION_WORDS))


def _language_sizes(data: SplitSet, languages: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per language: documents, and queries in each split (a query id starts with its language)."""
    def sizes(lang: str) -> dict[str, int]:
        queries = {split: sum(q.startswith(f"{lang}-") for q in qrels) for split, qrels in data.qrels.items()}
        return {"docs": sum(row["lang"] == lang for row in data.corpus.values()), **queries}

    return {lang: sizes(lang) for lang in languages}


def build_debref(out_dir: str | os.PathLike, *, languages: Sequence[str] = LANGUAGES,
                 cache_dir: str | os.PathLike | None = None, test_sections: int = 135, dev_sections: int = 40,
                 seed: int = 0) -> DebrefSummary:
    """Fetch `debian-reference-<lang>` for each language (once, into the cache) and build the set."""
    start = time.perf_counter()
    _check_languages(languages)
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / "debref"
    books = {lang: fetch_debian_tree((f"debian-reference-{lang}",), cache / lang, hint=OWN_DATA_HINT) / BOOK_DIR
             for lang in languages}
    summary = build_from_book(books, out_dir, test_sections=test_sections, dev_sections=dev_sections, seed=seed)
    return dataclasses.replace(summary, seconds=time.perf_counter() - start)
