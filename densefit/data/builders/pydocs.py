"""Two BEIR-style retrieval sets built from the Python 3.11 documentation (Debian's `python3.11-doc`).

* **sections**: the query is a section heading of the library reference (`library/*.html`),
  qualified by its page ("json — Examples") when the heading alone names no single thing;
  the relevant document is the section's own text (subsections are documents of their own).
* **api**: the query is a Python or C API name as a person searches it ("os.path.join",
  "PyList_Append"), from every page; the relevant document is its description, without the
  signature. Entries without such a name (command-line options, environment variables,
  opcodes...) are documents without a query: distractors.

The package is fetched with `apt-get download` and unpacked with `dpkg-deb -x` into the cache
(nothing is installed). The Sphinx HTML is read with the standard library's `html.parser` into a
small element tree. Documents are split into train/dev/test by `splits.split_by_document`, so no
test document is trained on; no query appears verbatim in its relevant documents.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from densefit.data.beir import write_beir
from densefit.data.builders.debian import cache_root, fetch_debian_tree
from densefit.data.builders.splits import SetSummary, SplitSet, check_split, split_by_document
from densefit.errors import DensefitError

PACKAGE = "python3.11-doc"
HTML_ROOT = Path("usr/share/doc/python3.11/html")
HINT = ("run densefit with your own data instead: "
        "`densefit train --train pairs.jsonl --eval my_ir_set/`; see README 'Your own data'")
SECTION_WORDS = 400
API_WORDS = 300

# --------------------------------------------------------------------------- HTML -> element tree

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
BLOCK = {"address", "blockquote", "br", "caption", "dd", "div", "dl", "dt", "figcaption", "figure",
         "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "section", "table", "td",
         "th", "tr", "ul"}
UNSEEN = {"script", "style", "template"}


@dataclass
class Element:
    """One HTML element: tag, attributes and children (elements and text strings, in order)."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def elements(self) -> Iterator[Element]:
        return (child for child in self.children if isinstance(child, Element))

    def iter(self) -> Iterator[Element]:
        """This element and every element below it, in document order."""
        yield self
        for child in self.elements():
            yield from child.iter()


class _TreeBuilder(HTMLParser):
    """Builds the tree; an end tag closes every element opened after its match (unclosed `<p>`,
    `<li>`...), and one without an open match is ignored, so sloppy HTML still nests sensibly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(source: str) -> Element:
    """The element tree of an HTML page (a `#root` element holding the top-level nodes)."""
    builder = _TreeBuilder()
    builder.feed(source)
    builder.close()
    return builder.root


def is_permalink(element: Element) -> bool:
    """Sphinx's "¶" anchor after every heading and signature."""
    return element.tag == "a" and "headerlink" in element.classes


def text_of(element: Element, skip: Callable[[Element], bool] = lambda e: False) -> str:
    """Plain text: one line per block (`<pre>` keeps its lines), spaces collapsed, permalinks and
    the subtrees `skip` picks left out."""
    pieces: list[str] = []
    _render(element, skip, pieces, preformatted=False)
    lines = (" ".join(line.split()) for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


def _render(element: Element, skip: Callable[[Element], bool], out: list[str], preformatted: bool) -> None:
    block = element.tag in BLOCK
    if block:
        out.append("\n")
    for child in element.children:
        if isinstance(child, str):
            out.append(child if preformatted else child.replace("\n", " "))
        elif child.tag not in UNSEEN and not is_permalink(child) and not skip(child):
            _render(child, skip, out, preformatted or child.tag == "pre")
    if block:
        out.append("\n")


def truncate_words(text: str, limit: int) -> str:
    """The text up to its `limit`-th word, line breaks kept: documents stay a readable size."""
    words = list(re.finditer(r"\S+", text))
    return text if len(words) <= limit else text[:words[limit - 1].end()]


def normalise(text: str) -> str:
    """Lower case, spaces collapsed: the form `splits.verbatim_leaks` compares texts in."""
    return " ".join(text.lower().split())


def reading(doc: Mapping[str, str]) -> str:
    """A corpus row as a retriever reads it: title and text, normalised."""
    return normalise(f"{doc.get('title', '')} {doc.get('text', '')}")


def leaks(query: str, doc: Mapping[str, str]) -> bool:
    """Does the whole query appear in the document's title or text (as `splits.verbatim_leaks` checks)?"""
    return normalise(query) in reading(doc)


# --------------------------------------------------------------------------- pages

SECTION_NUMBER = re.compile(r"^\d+(?:\.\d+)*\.\s+")
TITLE_SEPARATOR = re.compile(r"\s+[—–]\s+|:\s+")


def heading_text(heading: Element) -> str:
    """A heading's text without its "¶" permalink and Sphinx section number ("1.2. ")."""
    text = " ".join(text_of(heading, skip=lambda e: "section-number" in e.classes).split())
    return SECTION_NUMBER.sub("", text)


def page_title(tree: Element) -> str:
    """The page's `<h1>` text ("json — JSON encoder and decoder"); "" if it has none."""
    h1 = next((e for e in tree.iter() if e.tag == "h1"), None)
    return heading_text(h1) if h1 is not None else ""


def short_title(title: str) -> str:
    """What a person calls the page: the module name before the dash or colon ("json"), else the
    whole title ("Built-in Types")."""
    return TITLE_SEPARATOR.split(title, maxsplit=1)[0]


def page_id(html_root: Path, path: Path) -> str:
    """The page's path under the HTML root ("library/json.html"), as on docs.python.org/3.11/."""
    return path.relative_to(html_root).as_posix()


# --------------------------------------------------------------------------- sections

SECTION_HEADINGS = {"h2", "h3", "h4"}
HEADING = re.compile(r"h[1-6]")
GENERIC_PAGES = 3  # a heading whose every word heads sections on this many pages names nothing alone
PLAIN_WORD = re.compile(r"[A-Za-z][a-z]*")  # "Caveats", "Images": one ordinary word, not an identifier
STOPWORDS = frozenset("a an and as at by for from in into is its of on or the to vs with".split())


@dataclass(frozen=True)
class Section:
    """One section of a library page: its heading and its own text (subsections are sections of their own)."""

    doc_id: str  # "library/json.html#basic-usage"
    title: str  # the page title
    heading: str
    text: str

    @property
    def page(self) -> str:
        return self.doc_id.split("#", 1)[0]


def section_heading(element: Element) -> Element | None:
    """The h2/h3/h4 heading of a Sphinx `<section id=...>`; None for other elements and for the
    page itself (h1), whose title every section already carries."""
    if element.tag != "section" or not element.attrs.get("id"):
        return None
    heading = next((child for child in element.elements() if HEADING.fullmatch(child.tag)), None)
    return heading if heading is not None and heading.tag in SECTION_HEADINGS else None


def read_sections(source: str, page: str) -> list[Section]:
    """Every h2-h4 section of a page with its own text, heading left out, cut at SECTION_WORDS.

    API entries inside a section are part of its text ("Functions" sections are little else)."""
    tree = parse_html(source)
    title = page_title(tree) or Path(page).stem
    sections = []
    for element in tree.iter():
        heading = section_heading(element)
        if heading is not None:
            text = text_of(element, skip=lambda e, h=heading: e is h or e.tag == "section")
            sections.append(Section(f"{page}#{element.attrs['id']}", title, heading_text(heading),
                                    truncate_words(text, SECTION_WORDS)))
    return sections


def heading_key(text: str) -> str:
    """Headings that read the same ("Command-line interface", "Command Line Interface") share a key."""
    return " ".join(re.findall(r"[\w.]+", text.lower()))


def content_words(heading: str) -> set[str]:
    return set(heading_key(heading).split()) - STOPWORDS


def section_queries(sections: Sequence[Section]) -> dict[str, list[str]]:
    """Query text -> ids of the sections it names. A heading is the query as it is unless it is
    generic ("Examples", "Basic Usage"; see `is_generic`); then the page's short title qualifies it
    ("json — Examples"). Sections whose queries read the same share the query."""
    pages_by_heading: dict[str, set[str]] = {}
    pages_by_word: dict[str, set[str]] = {}
    for section in sections:
        pages_by_heading.setdefault(heading_key(section.heading), set()).add(section.page)
        for word in content_words(section.heading):
            pages_by_word.setdefault(word, set()).add(section.page)
    groups: dict[str, tuple[str, list[str]]] = {}
    for section in sections:
        query = section.heading
        if is_generic(query, pages_by_heading, pages_by_word):
            query = f"{short_title(section.title)} — {query}"
        groups.setdefault(heading_key(query), (query, []))[1].append(section.doc_id)
    return {query: sorted(ids) for query, ids in groups.values()}


def is_generic(heading: str, pages_by_heading: Mapping[str, set[str]],
               pages_by_word: Mapping[str, set[str]]) -> bool:
    """A heading names no single thing when it heads sections on several pages, when each of its
    words heads sections on GENERIC_PAGES pages or more ("Basic Usage"), or when it is one plain
    word ("Caveats")."""
    return (len(pages_by_heading[heading_key(heading)]) > 1
            or all(len(pages_by_word[word]) >= GENERIC_PAGES for word in content_words(heading))
            or PLAIN_WORD.fullmatch(heading) is not None)


def sections_from_folder(html_root: Path, *, test: int, dev: int, train: int | None,
                         seed: int) -> tuple[SplitSet, dict[str, int]]:
    """The sections set from the `library/*.html` pages under `html_root`, and its dropped counts."""
    sections = [section for path in sorted((html_root / "library").glob("*.html"))
                for section in read_sections(path.read_text(encoding="utf-8"), page_id(html_root, path))]
    kept = [section for section in sections if section.text]
    corpus = {s.doc_id: {"title": s.title, "text": s.text} for s in kept}
    return _split(section_queries(kept), corpus, {"empty_docs": len(sections) - len(kept)},
                  name="pydocs-sections", test=test, dev=dev, train=train, seed=seed)


# --------------------------------------------------------------------------- API entries

API_DOMAINS = {"py", "c", "std"}
NAMED_DOMAINS = {"py", "c"}  # std entries (options, env vars, opcodes, pdb commands) have no dotted name
ANNOTATIONS = {"refcount", "stableabi"}  # "Return value: New reference.", "Part of the Stable ABI."


@dataclass(frozen=True)
class ApiEntry:
    """One documented function, class, method, attribute...: its names and its description."""

    doc_id: str  # "library/os.path.html#os.path.join"
    names: tuple[str, ...]  # one per anchored signature; () for std entries and `:noindex:` duplicates
    title: str  # the page title
    text: str


def is_api_entry(element: Element) -> bool:
    """A Sphinx object description: `<dl class="py function">`, `<dl class="c macro">`,
    `<dl class="std envvar">`..."""
    classes = element.classes
    return element.tag == "dl" and len(classes) > 1 and bool(classes & API_DOMAINS)


def api_name(anchor: str) -> str:
    """The name a person searches for: the Python anchor as it is ("os.path.join"), the C one
    without Sphinx's "c." prefix ("PyList_Append")."""
    return anchor.removeprefix("c.")


def is_description_noise(element: Element) -> bool:
    """What an entry's description leaves out: nested entries (a class's methods are entries of
    their own) and the C API's boilerplate annotations, the same in hundreds of entries."""
    return is_api_entry(element) or bool(element.classes & ANNOTATIONS)


def read_api_entries(source: str, page: str) -> list[ApiEntry]:
    """Every API entry of a page: names from the `<dt id>`s of Python and C entries, description
    from its `<dd>`s (see `is_description_noise`), cut at API_WORDS."""
    tree = parse_html(source)
    title = page_title(tree) or Path(page).stem
    entries = []
    for position, element in enumerate(e for e in tree.iter() if is_api_entry(e)):
        anchors = [dt.attrs["id"] for dt in element.elements() if dt.tag == "dt" and dt.attrs.get("id")]
        text = "\n".join(text_of(dd, skip=is_description_noise) for dd in element.elements() if dd.tag == "dd")
        anchor = anchors[0] if anchors else f"unnamed-{position}"
        names = tuple(api_name(a) for a in anchors) if element.classes & NAMED_DOMAINS else ()
        entries.append(ApiEntry(f"{page}#{anchor}", names, title, truncate_words(text, API_WORDS)))
    return entries


def api_queries(entries: Sequence[ApiEntry]) -> dict[str, list[str]]:
    """API name -> the ids of the entries it names (one, as Sphinx anchors are unique)."""
    groups: dict[str, list[str]] = {}
    for entry in entries:
        for name in entry.names:
            groups.setdefault(name, []).append(entry.doc_id)
    return groups


def api_from_folder(html_root: Path, *, test: int, dev: int, train: int | None, seed: int,
                    min_docs: int = 0) -> tuple[SplitSet, dict[str, int]]:
    """The API set from every page under `html_root` (library, C API, language reference...), and
    its dropped counts. Unnamed entries (std ones, `:noindex:` duplicates) have no query but stay
    in the corpus as distractors. A corpus under `min_docs` documents is refused."""
    entries = [entry for path in sorted(html_root.rglob("*.html"))
               for entry in read_api_entries(path.read_text(encoding="utf-8"), page_id(html_root, path))]
    kept = [entry for entry in entries if entry.text]
    corpus = {e.doc_id: {"title": e.title, "text": e.text} for e in kept}
    if len(corpus) < min_docs:
        raise DensefitError(f"pydocs-api: only {len(corpus)} documents in {html_root} (expected at least "
                            f"{min_docs}); the {PACKAGE} package has changed. Delete the cache folder to fetch "
                            f"it again, or {HINT}")
    dropped = {"empty_docs": len(entries) - len(kept), "unnamed_docs": sum(not e.names for e in kept)}
    return _split(api_queries(kept), corpus, dropped, name="pydocs-api", test=test, dev=dev, train=train,
                  seed=seed)


# --------------------------------------------------------------------------- splits


def drop_leaking(groups: Mapping[str, Sequence[str]], corpus: Mapping[str, Mapping[str, str]]
                 ) -> dict[str, list[str]]:
    """The queries found verbatim in none of their relevant documents: a query its document spells
    out would be matched by words alone. Their documents stay in the corpus."""
    return {query: list(ids) for query, ids in groups.items()
            if not any(leaks(query, corpus[doc_id]) for doc_id in ids)}


def drop_duplicated(groups: Mapping[str, Sequence[str]], corpus: Mapping[str, Mapping[str, str]]
                     ) -> dict[str, list[str]]:
    """The queries none of whose relevant documents reads the same as an irrelevant one ("A
    subclass of HTTPException." on one page): no ranking could tell such documents apart."""
    alike: dict[str, set[str]] = {}
    for doc_id, doc in corpus.items():
        alike.setdefault(reading(doc), set()).add(doc_id)
    return {query: list(ids) for query, ids in groups.items()
            if all(alike[reading(corpus[doc_id])] <= set(ids) for doc_id in ids)}


def _split(groups: Mapping[str, Sequence[str]], corpus: dict[str, dict], dropped: dict[str, int], *, name: str,
           test: int, dev: int, train: int | None, seed: int) -> tuple[SplitSet, dict[str, int]]:
    """Drop leaking and duplicated queries, split by document, check the test split; count each
    query dropped.

    The split is made twice, without and with the train cap, to tell queries whose documents
    straddle splits from training queries over the cap."""
    unleaked = drop_leaking(groups, corpus)
    clean = drop_duplicated(unleaked, corpus)
    uncapped = split_by_document(clean, corpus, test=test, dev=dev, seed=seed)
    data = split_by_document(clean, corpus, test=test, dev=dev, train=train, seed=seed)
    dropped = {**dropped, "verbatim_queries": len(groups) - len(unleaked),
               "duplicate_doc_queries": len(unleaked) - len(clean),
               "straddling_queries": len(clean) - len(uncapped.queries),
               "over_train_cap_queries": len(uncapped.queries) - len(data.queries)}
    return check_split(data, name), dropped


# --------------------------------------------------------------------------- public entry points

MIN_API_DOCS = 10_000


PydocsSummary = SetSummary  # the one summary every builder returns


def fetch_html_root(cache_dir: str | os.PathLike | None) -> Path:
    """Download and unpack `python3.11-doc` once into the cache; the folder holding its HTML pages."""
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / "pydocs"
    html_root = fetch_debian_tree((PACKAGE,), cache, hint=HINT) / HTML_ROOT
    if not (html_root / "library").is_dir():
        raise DensefitError(f"{PACKAGE} was unpacked into {cache} but has no {HTML_ROOT}/library folder; "
                            f"the package layout has changed. Delete {cache} to fetch it again, or {HINT}")
    return html_root


def _check_sizes(test: int, dev: int, train: int | None) -> None:
    if min(test, dev, 0 if train is None else train) < 0:
        raise DensefitError(f"test={test}, dev={dev} and train={train} must not be negative")


def _write(out_dir: str | os.PathLike, data: SplitSet, dropped: dict[str, int], start: float) -> PydocsSummary:
    out = write_beir(out_dir, data.corpus, data.queries, data.qrels)
    return PydocsSummary(out_dir=out, docs=len(data.corpus), queries=len(data.queries),
                         split_sizes=data.split_sizes(), dropped=dropped, seconds=time.perf_counter() - start)


def build_pydocs_sections(out_dir: str | os.PathLike, *, test: int = 500, dev: int = 200, train: int | None = 4000,
                          seed: int = 0, cache_dir: str | os.PathLike | None = None) -> PydocsSummary:
    """Build the library-reference sections set into `out_dir` (corpus.jsonl, queries.jsonl,
    qrels/{train,dev,test}.tsv). `test`/`dev` count documents; `train` caps training queries."""
    start = time.perf_counter()
    _check_sizes(test, dev, train)
    data, dropped = sections_from_folder(fetch_html_root(cache_dir), test=test, dev=dev, train=train, seed=seed)
    return _write(out_dir, data, dropped, start)


def build_pydocs_api(out_dir: str | os.PathLike, *, test: int = 500, dev: int = 200, train: int | None = 4000,
                     seed: int = 0, cache_dir: str | os.PathLike | None = None) -> PydocsSummary:
    """Build the API-name set into `out_dir`, like `build_pydocs_sections`. Refuses a corpus under
    MIN_API_DOCS documents, which would mean the package lost most of its pages."""
    start = time.perf_counter()
    _check_sizes(test, dev, train)
    data, dropped = api_from_folder(fetch_html_root(cache_dir), test=test, dev=dev, train=train, seed=seed,
                                    min_docs=MIN_API_DOCS)
    return _write(out_dir, data, dropped, start)
