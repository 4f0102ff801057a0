"""A BEIR-style retrieval set built from Debian's Linux man pages.

Each page of the `manpages` and `manpages-dev` packages gives one document and
one query:

* the query is the description on the NAME line
  (`stat, fstat, lstat, fstatat \\- get file status` -> "get file status");
* the relevant document is the rest of the page (SYNOPSIS, DESCRIPTION, ...)
  turned from roff into plain text by the small converter below.

Pages that share a description become one query with several relevant pages.
Queries are split into train/dev/test by a hash of their text, so the split is
deterministic and a description never lands in two splits; every split shares
the full corpus. The packages are fetched with `apt-get download` and unpacked
with `dpkg-deb -x` into a cache folder: nothing is installed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from densefit.data.beir import write_beir
from densefit.data.builders.debian import cache_root, fetch_debian_tree
from densefit.errors import DensefitError

PACKAGES = ("manpages", "manpages-dev")
MIN_TEST_QUERIES = 300  # the multi-domain benchmark's floor (bench/quality.py)
OWN_DATA_HINT = ("run densefit with your own data instead: "
                 "`densefit train --train pairs.jsonl --eval my_ir_set/`; see README 'Your own data'")

# --------------------------------------------------------------------------- roff -> text

# Special characters, written `\(xx`, `\[xx]` or as strings `\*(xx`; anything not listed is dropped.
SPECIAL_CHARS = {
    "em": "—", "en": "–", "aq": "'", "lq": '"', "rq": '"', "dq": '"', "oq": "'", "cq": "'",
    "bu": "•", "ha": "^", "ti": "~", "ga": "`", "hy": "-", "mi": "-", "-": "-", "+-": "±",
    "de": "°", "dg": "†", "la": "<", "ra": ">", "fm": "'", "sd": '"', "12": "½", "sc": "§",
    "mc": "µ", "mu": "×", "co": "©", "rg": "®", "tm": "™", "->": "→", "<-": "←",
    "<=": "≤", ">=": "≥", "!=": "≠", "R": "®",
}
JOIN = "\x00"  # `\c`: the next line continues this one without a space
# One-character escapes `\x`; any other `\x` is dropped (`\&`, `\%`, `\:`, `\|`, `\^`, ...).
SIMPLE_ESCAPES = {"-": "-", "e": "\\", "\\": "\\", " ": " ", "~": " ", "0": " ", "t": " ",
                  "`": "`", "'": "'", ".": ".", "c": JOIN}
ESCAPE = re.compile(r"""\\(?:
      \( (?P<two>..)                              # \(em
    | \[ (?P<long>[^\]]*) \]                      # \[em]
    | \* (?: \((?P<s2>..) | \[(?P<sl>[^\]]*)\] | (?P<s1>.) )   # strings: \*(lq \*[lq] \*-
    | f (?: \(.. | \[[^\]]*\] | . )               # font changes: \fB \f(CW \f[B]
    | s [-+]? \d+                                 # size changes: \s-1
    | [wNhvbo] '[^']*'                            # width, glyph, motions: \w'...'
    | n (?: \(.. | \[[^\]]*\] | . )               # number registers: \n(.g
    | (?P<one>.?)                                 # \- \e \& ... and a trailing lone backslash
)""", re.VERBOSE)
COMMENT = re.compile(r'^((?:[^\\]|\\.)*?)\\".*$')

HEADINGS = {"SH", "SS"}
BREAKS = {"PP", "LP", "P", "sp", "br", "HP", "YS", "bp"}
NOFILL = {"nf": False, "EX": False, "fi": True, "EE": True}
ALTERNATING = {"BR", "BI", "IR", "RB", "RI", "IB"}
SAME_FONT = {"B", "I", "SM", "SB"}


def unescape(text: str) -> str:
    """Resolve roff escapes in one left-to-right pass: `\\-` -> "-", `\\fB` -> "", `\\(em` -> "—"..."""
    return ESCAPE.sub(_escape_replacement, text)


def _escape_replacement(match: re.Match[str]) -> str:
    name = match.group("two") or match.group("long") or match.group("s2") or match.group("sl") \
        or match.group("s1")
    if name is not None:
        return SPECIAL_CHARS.get(name, "")
    one = match.group("one")
    return SIMPLE_ESCAPES.get(one, "") if one is not None else ""


def split_args(text: str) -> list[str]:
    """Split macro arguments on spaces; `"quoted args"` stay whole and `""` inside them is a quote."""
    args: list[str] = []
    for match in re.finditer(r'"((?:[^"]|"")*)"?|((?:[^\s\\"]|\\.)(?:[^\s\\]|\\.)*)', text):
        quoted, bare = match.groups()
        args.append(quoted.replace('""', '"') if quoted is not None else bare)
    return args


def source_lines(source: str) -> list[str]:
    """The page's lines without comments and without macro definitions (`.de`/`.ig` ... `..`)."""
    lines: list[str] = []
    in_definition = False
    for raw in source.splitlines():
        line = _strip_comment(raw)
        name = _request_name(line)
        if in_definition:
            in_definition = name != "."
        elif name in ("de", "de1", "ig", "am"):
            in_definition = True
        elif line.strip() not in (".", "'") or not raw.strip():
            lines.append(line)
    return lines


def _strip_comment(line: str) -> str:
    """Drop a `\\"` comment and the rest of its line."""
    if '\\"' not in line:
        return line
    match = COMMENT.match(line)
    return match.group(1) if match else line


def _request_name(line: str) -> str | None:
    """`.TH x` -> "TH", `..` -> ".", a text line -> None."""
    if line[:1] not in (".", "'"):
        return None
    rest = line[1:].lstrip(" \t")
    return rest.split(None, 1)[0] if rest else ""


@dataclass
class _Writer:
    """Collects output paragraphs; in no-fill mode (.nf, .EX) every input line is its own line."""

    paragraphs: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    fill: bool = True
    tag_pending: bool = False  # after .TP the next line is the tag, on a line of its own
    table: bool = False
    table_format: bool = False  # reading tbl options/format lines, which end with "."
    table_tab: str = "\t"
    in_cell: bool = False  # inside a multi-line T{ ... T} table cell

    def emit(self, text: str) -> None:
        self.current.append(text)
        if not self.fill or self.tag_pending:
            self.tag_pending = False
            self.brk()

    def brk(self) -> None:
        if self.current:
            self.paragraphs.append(" ".join(self.current))
            self.current = []

    def result(self) -> str:
        self.brk()
        text = "\n".join(" ".join(p.split()) for p in self.paragraphs)
        text = re.sub(JOIN + r"\s*", "", text)
        return "\n".join(line for line in text.split("\n") if line)


def roff_to_text(source: str) -> str:
    """Convert man(7) roff to plain text: macros dropped or resolved, one paragraph per line."""
    writer = _Writer()
    for line in source_lines(source):
        name = _request_name(line)
        if name is not None:
            _request(writer, name, split_args(line[1:].lstrip(" \t")[len(name):]))
        elif writer.table:
            _table_line(writer, line)
        elif not line.strip():
            writer.brk()
        else:
            writer.emit(unescape(line))
    return writer.result()


def _request(w: _Writer, name: str, args: list[str]) -> None:
    """Apply one request line (`.B foo`, `.PP`, ...); unknown requests are layout only and dropped."""
    text = [unescape(a) for a in args]
    if name in ("TS", "TE", "T&"):
        _table_request(w, name)
    elif name in HEADINGS or name in BREAKS or name in NOFILL or name in ("TP", "TQ", "IP"):
        _block_request(w, name, text)
    elif inline := _inline_macro(name, text):
        w.emit(inline)


def _block_request(w: _Writer, name: str, text: list[str]) -> None:
    """Requests that end the paragraph: headings and `.IP` tags get a line of their own, `.TP` tags
    are the next input line, `.nf`/`.fi` (and `.EX`/`.EE`) switch no-fill mode off and on."""
    w.brk()
    w.fill = NOFILL.get(name, w.fill)
    w.tag_pending = False
    heading = " ".join(text) if name in HEADINGS else text[0] if name == "IP" and text else ""
    if heading.strip():
        w.emit(heading)
        w.brk()
    w.tag_pending = name in ("TP", "TQ")


def _inline_macro(name: str, text: list[str]) -> str:
    """The text of a font macro (`.BR stat (2)` -> "stat(2)"), `.q`, `.SY` or `.UE`; "" for others."""
    if name in ALTERNATING or name in ("SY", "UE", "ME"):
        return "".join(text)
    if name in SAME_FONT:
        return " ".join(text)
    if name == "q" and text:  # tzfile(5)'s quoting macro: .q "word" punctuation
        return f'"{text[0]}"' + "".join(text[1:])
    return ""


def _table_request(w: _Writer, name: str) -> None:
    """`.TS` starts a tbl table (options and format lines first), `.T&` new format lines, `.TE` ends it."""
    w.brk()
    w.table = name != "TE"
    w.table_format = name != "TE"
    w.table_tab, w.in_cell = "\t", False


def _table_line(w: _Writer, line: str) -> None:
    """One tbl input line: skip options/format lines, then emit each row as a line, cells spaced."""
    if w.table_format:
        tab = re.search(r"\btab\s*\((.)\)", line)
        w.table_tab = tab.group(1) if tab else w.table_tab
        w.table_format = not line.rstrip().endswith(".")
        return
    row = line.replace(w.table_tab, " ")
    if row.strip() in ("_", "=", ""):
        return
    opens, closes = row.rstrip().endswith("T{"), row.startswith("T}")
    w.emit(unescape(row.replace("T{", " ").replace("T}", " ")))
    w.in_cell = opens if closes or not w.in_cell else True
    if not w.in_cell:
        w.brk()


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class Page:
    """One parsed man page: id (`stat.2`), NAME description (the query) and body text (the document)."""

    page_id: str
    description: str
    text: str

    @property
    def section(self) -> str:
        return self.page_id.rsplit(".", 1)[1]

    @property
    def title(self) -> str:
        name, section = self.page_id.rsplit(".", 1)
        return f"{name}({section})"


def is_redirect(source: str) -> bool:
    """True for pages that only say `.so man7/other.7` (an alias of another page)."""
    first = next((line for line in source_lines(source) if line.strip()), "")
    return _request_name(first) == "so"


def parse_page(source: str) -> tuple[str, str] | None:
    """(NAME description, body text) of a man page, or None for `.so` redirects and pages without one."""
    parsed = _parse(source)
    return parsed if isinstance(parsed, tuple) else None


def _parse(source: str) -> tuple[str, str] | str:
    """(description, body) or the reason the page is skipped: redirect, no_name, no_description, empty."""
    if is_redirect(source):
        return "redirect"
    lines = source_lines(source)
    start = next((i for i, line in enumerate(lines) if _is_section(line, "NAME")), None)
    if start is None:
        return "no_name"
    end = next((i for i in range(start + 1, len(lines)) if _is_section(lines[i])), len(lines))
    name_text = "\n".join(lines[start + 1:end])
    if not re.search(r"\s\\-\s", name_text):
        return "no_description"
    description = " ".join(roff_to_text(re.split(r"\s\\-\s", name_text, maxsplit=1)[1]).split())
    body = roff_to_text("\n".join(lines[end:]))
    if not description:
        return "no_description"
    return (description, body) if body else "empty"


def _is_section(line: str, title: str | None = None) -> bool:
    """Is this an `.SH` line (with this title, if given)?"""
    if _request_name(line) != "SH":
        return False
    heading = " ".join(split_args(line.split("SH", 1)[1])).strip().upper()
    return title is None or heading == title


def read_pages(man_root: Path) -> tuple[list[Page], dict[str, int]]:
    """Parse every `man*/*.gz` page under `man_root`; also count the skipped files by reason."""
    pages: list[Page] = []
    skipped: dict[str, int] = {}
    for path in sorted(man_root.glob("man*/*.gz")):
        if path.is_symlink():
            skipped["symlink"] = skipped.get("symlink", 0) + 1
            continue
        source = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        parsed = _parse(source)
        if isinstance(parsed, str):
            skipped[parsed] = skipped.get(parsed, 0) + 1
            continue
        pages.append(Page(path.name.removesuffix(".gz"), *parsed))
    return pages, skipped


# --------------------------------------------------------------------------- grouping and splits


@dataclass
class IRData:
    """What `write_beir` takes: corpus rows, query texts, and qrels for each split."""

    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, dict[str, int]]]

    def split_sizes(self) -> dict[str, int]:
        return {split: len(rel) for split, rel in self.qrels.items()}


def group_queries(pages: Iterable[Page]) -> dict[str, list[str]]:
    """Description (whitespace-normalised) -> the ids of every page with that description."""
    groups: dict[str, list[str]] = {}
    for page in pages:
        groups.setdefault(" ".join(page.description.split()), []).append(page.page_id)
    return {text: sorted(ids) for text, ids in sorted(groups.items())}


def split_order(text: str) -> int:
    """A stable pseudo-random rank for a query text (sha1), independent of the other queries."""
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big")


def build_ir_data(pages: Sequence[Page], *, test_queries: int, dev_queries: int) -> IRData:
    """Group pages into queries, number them `q0001`... by text, and split them by hash order."""
    groups = group_queries(pages)
    if test_queries < 0 or dev_queries < 0 or test_queries + dev_queries >= len(groups):
        raise DensefitError(f"cannot take {test_queries} test and {dev_queries} dev queries from "
                            f"{len(groups)} queries and keep some for training; ask for fewer")
    width = max(4, len(str(len(groups))))
    qids = {text: f"q{i:0{width}d}" for i, text in enumerate(groups, 1)}
    ranked = sorted(groups, key=lambda text: (split_order(text), text))
    split_of = {text: "test" if i < test_queries else "dev" if i < test_queries + dev_queries else "train"
                for i, text in enumerate(ranked)}
    qrels: dict[str, dict[str, dict[str, int]]] = {"train": {}, "dev": {}, "test": {}}
    for text, page_ids in groups.items():
        qrels[split_of[text]][qids[text]] = {page_id: 1 for page_id in page_ids}
    corpus = {p.page_id: {"text": p.text, "page": p.title, "section": p.section}
              for p in sorted(pages, key=lambda p: p.page_id)}
    return IRData(corpus=corpus, queries={qids[t]: t for t in groups}, qrels=qrels)


# --------------------------------------------------------------------------- download and cache


def fetch_man_tree(cache_dir: Path) -> Path:
    """Download and unpack the packages once into `cache_dir/tree` (reused when its marker exists)."""
    return fetch_debian_tree(PACKAGES, cache_dir, hint=OWN_DATA_HINT)


# --------------------------------------------------------------------------- public entry point


@dataclass
class BuildSummary:
    """What `build_manpages` wrote: counts, split sizes, skipped files by reason, and wall time."""

    out_dir: Path
    pages: int
    queries: int
    split_sizes: dict[str, int]
    skipped: dict[str, int]
    seconds: float


def build_manpages(
    out_dir: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    test_queries: int = 500,
    dev_queries: int = 50,
) -> BuildSummary:
    """Build the man-page IR set into `out_dir` (corpus.jsonl, queries.jsonl, qrels/{train,dev,test}.tsv)."""
    start = time.perf_counter()
    if test_queries < MIN_TEST_QUERIES:
        raise DensefitError(f"test_queries is {test_queries}; use at least {MIN_TEST_QUERIES} so test "
                            "metrics are not dominated by noise")
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / "manpages"
    tree = fetch_man_tree(cache)
    pages, skipped = read_pages(tree / "usr" / "share" / "man")
    data = build_ir_data(pages, test_queries=test_queries, dev_queries=dev_queries)
    out = write_beir(out_dir, data.corpus, data.queries, data.qrels)
    return BuildSummary(out_dir=out, pages=len(data.corpus), queries=len(data.queries),
                        split_sizes=data.split_sizes(), skipped=dict(sorted(skipped.items())),
                        seconds=time.perf_counter() - start)
