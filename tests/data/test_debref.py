"""The Debian Reference IR set builder: HTML -> sections, drops, the language-aligned split, a build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from densefit.data.beir import load_beir
from densefit.data.builders.debref import (
    Chapter,
    LanguageSet,
    Section,
    aligned_split_sizes,
    build_debref,
    build_from_book,
    chapter_title,
    language_set,
    parse_chapter,
    reads_as_english,
    split_languages,
    strip_number,
)
from densefit.errors import DensefitError, UnknownNameError

CHAPTER = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Chapter 1. GNU/Linux tutorials</title></head>
<body>
<div class="navheader"><table><tr><th>Chapter 1. GNU/Linux tutorials</th></tr></table></div>
<div class="chapter">
 <div class="titlepage"><h1 class="title"><a id="_tutorials"/>Chapter 1. GNU/Linux tutorials</h1></div>
 <div class="toc"><dl class="toc"><dt><a href="#_console">1.1. Console basics</a></dt></dl></div>
 <p>Chapter introduction, part of no section.</p>
 <div class="section">
  <div class="titlepage"><h2 class="title"><a id="_console"/>1.1. Console basics</h2></div>
  <div class="section">
   <div class="titlepage"><h3 class="title"><a id="_prompt"/>1.1.1. The <code>login</code> prompt</h3></div>
   <p>Type your   name at the
      prompt (see <a class="xref" href="#_vc" title="1.1.2. Virtual consoles">Section 1.1.2,
      “Virtual consoles”</a> below).<a class="footnote" href="#ftn.1"><sup>[1]</sup></a></p>
   <pre class="screen">foo login:
$ echo hi</pre>
   <div class="tip"><table summary="Tip"><tr><td><img alt="[Tip]" src="tip.png"/></td><th>Tip</th></tr>
    <tr><td><p>Use <code>passwd</code> to change it.</p></td></tr></table></div>
   <div class="table"><p class="title"><strong>Table 1.1. Packages</strong></p>
    <table><tr><th>package</th><th>size</th></tr><tr><td>mc</td><td>1482</td></tr></table></div>
  </div>
  <div class="section">
   <div class="titlepage"><h3 class="title"><a id="_vc"/>1.1.2. Virtual consoles</h3></div>
   <ul><li><p>Press Ctrl-Alt-F3.</p></li><li><p>Press Ctrl-Alt-F2 to return.</p></li></ul>
  </div>
 </div>
 <div class="footnotes"><div class="footnote"><p>[1] A footnote.</p></div></div>
</div>
<div class="navfooter"><table><tr><td>Chapter 2. Package management</td></tr></table></div>
</body></html>
"""


# --------------------------------------------------------------------------- HTML -> sections


def test_parse_chapter_splits_sections_at_every_heading() -> None:
    chapter = parse_chapter(CHAPTER)
    assert chapter.title == "GNU/Linux tutorials"
    assert [(s.anchor, s.heading, s.number, s.query) for s in chapter.sections] == [
        ("_console", "1.1. Console basics", "1.1", "Console basics"),
        ("_prompt", "1.1.1. The login prompt", "1.1.1", "The login prompt"),
        ("_vc", "1.1.2. Virtual consoles", "1.1.2", "Virtual consoles"),
    ]
    assert chapter.sections[0].text == ""  # a parent section's own text ends at its first subsection


def test_section_text_keeps_prose_code_lines_and_tables_but_not_links_labels_or_navigation() -> None:
    prompt, consoles = parse_chapter(CHAPTER).sections[1:]
    assert prompt.text.split("\n") == [
        "Type your name at the prompt (see below).",
        "foo login:",
        "$ echo hi",
        "Use passwd to change it.",
        "Table 1.1. Packages",
        "package size",
        "mc 1482",
    ]
    assert consoles.text == "Press Ctrl-Alt-F3.\nPress Ctrl-Alt-F2 to return."


def test_sections_without_an_anchor_are_numbered_and_html_void_tags_do_not_nest() -> None:
    chapter = parse_chapter("<h1>Kapitel 2. Pakete</h1><h2>2.1. Erste</h2><p>eins<br>zwei</p>"
                            "<h2>2.2. Zweite</h2><p>drei</p></div>")
    assert chapter.title == "Pakete"
    assert [(s.anchor, s.query, s.text) for s in chapter.sections] == [
        ("s1", "Erste", "eins\nzwei"), ("s2", "Zweite", "drei")]


@pytest.mark.parametrize(("heading", "query"), [
    ("1.2.3. Filesystem permissions", "Filesystem permissions"),
    ("A.1. The Debian maze", "The Debian maze"),
    ("3. About this document", "About this document"),
    ("X Window System", "X Window System"),
    ("2.1.5. Debian ist zu 100% freie Software", "Debian ist zu 100% freie Software"),
])
def test_strip_number(heading: str, query: str) -> None:
    assert strip_number(heading) == query


@pytest.mark.parametrize(("h1", "title"), [
    ("Chapter 1. GNU/Linux tutorials", "GNU/Linux tutorials"),
    ("Capítulo 2. Gestión de paquetes Debian", "Gestión de paquetes Debian"),
    ("Apéndice A. Apéndice", "Apéndice"),
    ("Preface", "Preface"),
])
def test_chapter_title_drops_the_label(h1: str, title: str) -> None:
    assert chapter_title(h1) == title


# --------------------------------------------------------------------------- documents, queries, drops


def test_language_set_drops_empty_untranslated_and_leaking_sections() -> None:
    chapter = Chapter("Network setup", [
        Section("_a", "1.1. Parent", ""),
        Section("_b", "1.2. Routing tables", "Use ip route to see them."),
        Section("_c", "1.3. Samba  shares", "SAMBA shares files with Windows."),  # heading in the text
        Section("_d", "1.4. Network", "Anything."),  # heading in the chapter title
        Section("_e", "1.5. Routing tables", "Another section, same heading."),
        Section("_h", "1.6. Firewall", "Set up nftables."),
    ])
    dropped: dict[str, int] = {}
    english = language_set({"ch05": chapter}, "en", [], dropped)
    assert dropped == {"empty": 1, "heading_in_text": 2}
    assert english.groups == {"Routing tables": ["ch05#_b", "ch05#_e"], "Firewall": ["ch05#_h"]}
    assert set(english.corpus) == {"ch05#_b", "ch05#_c", "ch05#_d", "ch05#_e", "ch05#_h"}  # leaks stay as docs
    assert english.corpus["ch05#_b"] == {"title": "Network setup", "text": "Use ip route to see them.",
                                         "lang": "en", "section": "1.2"}
    german = Chapter("Netzwerk", [
        Section("_b", "1.2. Routingtabellen", "Use ip route to see them."),  # the English text, untouched
        Section("_f", "1.7. Filter", "The firewall is set up with nft, and it is on by default."),
        Section("_g", "1.8. Tabellen", "Die Tabelle listet die Pakete für the firewall."),
        Section("_h", "1.6. Firewall", "Richten Sie nftables ein."),  # the English heading, untouched
    ])
    assert list(language_set({"ch05": german}, "de", [english], dropped).groups) == ["Tabellen"]
    assert dropped == {"empty": 1, "heading_in_text": 2, "duplicate_text": 1, "untranslated": 1,
                       "heading_of_earlier_language": 1}


def test_reads_as_english_counts_function_words() -> None:
    assert reads_as_english("Use the tool to set up the network and the firewall.", "es")
    assert not reads_as_english("Use la herramienta para la red y el cortafuegos (the firewall).", "es")
    assert not reads_as_english("Die Tabelle listet die Pakete für the firewall.", "de")
    assert not reads_as_english("The English text.", "en")


def test_aligned_split_sizes_cut_the_union_of_keys() -> None:
    keys = {"en": [f"k{i}" for i in range(40)], "de": [f"k{i}" for i in range(0, 40, 2)]}
    sizes = aligned_split_sizes(keys, test=10, dev=5, seed=0)
    assert sizes["en"] == (10, 5)
    assert 0 < sizes["de"][0] < 10 and sizes["de"][0] + sizes["de"][1] <= 15


def _language(lang: str, n: int, skip: int = 0) -> LanguageSet:
    keys = [f"ch01#_s{i}" for i in range(n) if not (skip and i % skip == 0)]
    return LanguageSet(corpus={k: {"text": f"{lang} body {k}", "lang": lang} for k in keys},
                       groups={f"{lang} heading {k[-3:]}": [k] for k in keys})


def test_split_languages_keeps_every_translation_of_a_section_in_one_split() -> None:
    sets = {"en": _language("en", 60), "es": _language("es", 60, skip=3), "de": _language("de", 60, skip=4)}
    dropped: dict[str, int] = {}
    data = split_languages(sets, test=15, dev=5, seed=1, dropped=dropped)
    split_of: dict[str, set[str]] = {}
    for split, qrels in data.qrels.items():
        for rel in qrels.values():
            for doc in rel:
                split_of.setdefault(doc.split("/", 1)[1], set()).add(split)
    assert all(len(splits) == 1 for splits in split_of.values())
    assert sum(1 for splits in split_of.values() if splits == {"test"}) == 15
    assert sorted({q.split("-", 1)[0] for q in data.queries}) == ["de", "en", "es"]
    assert all(doc.split("/", 1)[0] == row["lang"] for doc, row in data.corpus.items())
    assert dropped == {"straddles_splits": 0, "over_train_cap": 0}


# --------------------------------------------------------------------------- build from a folder


def _write_book(folder: Path, lang: str, headings: list[str], untranslated: str = "") -> None:
    """Two chapters of numbered sections; section text words never repeat the heading's words."""
    folder.mkdir(parents=True, exist_ok=True)
    per_chapter = len(headings) // 2
    for c in (1, 2):
        body = "".join(
            f'<div class="section"><h2 class="title"><a id="_s{i}"/>{c}.{i}. {heading}</h2>'
            f"<p>{untranslated if untranslated and c == i == 1 else f'{lang} text number {c}{i:02d}'}</p></div>"
            for i, heading in enumerate(headings[(c - 1) * per_chapter:c * per_chapter], 1))
        (folder / f"ch{c:02d}.{lang}.html").write_text(
            f'<html><body><div class="chapter"><h1 class="title">Chapter {c}. Part {c}</h1>{body}</div>'
            "</body></html>", encoding="utf-8")
    (folder / f"index.{lang}.html").write_text("<h1>Debian Reference</h1><h2>1. Not a section</h2><p>toc</p>")


def test_build_from_book_writes_a_loadable_bilingual_set(tmp_path: Path) -> None:
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november".split()
    english = [f"Setting up {w} {v}" for w in words for v in ("daemon", "client")][:24]
    german = [f"Einrichten von {w} {v}" for w in words for v in ("Dienst", "Programm")][:24]
    book = tmp_path / "book"
    _write_book(book, "en", english)
    _write_book(book, "de", german, untranslated="en text number 101")
    summary = build_from_book({"en": book, "de": book}, tmp_path / "out", test_sections=6, dev_sections=3,
                              min_test=1)
    assert summary.dropped == {"duplicate_text": 1, "over_train_cap": 0, "straddles_splits": 0}
    assert summary.docs == 47 and summary.queries == 47
    assert summary.languages["en"]["docs"] == 24 and summary.languages["de"]["docs"] == 23
    assert sum(summary.split_sizes.values()) == summary.queries
    assert summary.languages["en"]["test"] == 6

    rows = [json.loads(line) for line in (tmp_path / "out" / "corpus.jsonl").read_text().splitlines()]
    first = next(row for row in rows if row["_id"] == "en/ch01#_s1")
    assert first == {"_id": "en/ch01#_s1", "title": "Part 1", "text": "en text number 101", "lang": "en",
                     "section": "1.1"}
    test = load_beir(tmp_path / "out", "test")
    assert all(qid.split("-", 1)[0] == doc.split("/", 1)[0] for qid, rel in test.qrels.items() for doc in rel)
    assert {test.queries[q] for q in test.qrels} <= set(english) | set(german)


def test_build_refuses_too_few_test_queries_and_missing_chapters(tmp_path: Path) -> None:
    book = tmp_path / "book"
    _write_book(book, "en", [f"Heading {w}" for w in "abcdefghijkl"])
    with pytest.raises(DensefitError, match="at least 300"):
        build_from_book({"en": book}, tmp_path / "out", test_sections=3, dev_sections=2)
    with pytest.raises(DensefitError, match="ch01.de.html"):
        build_from_book({"de": book}, tmp_path / "out", test_sections=3, dev_sections=2, min_test=1)
    with pytest.raises(UnknownNameError, match="'fr'.*de, en, es"):
        build_from_book({"fr": book}, tmp_path / "out", test_sections=3, dev_sections=2, min_test=1)
    with pytest.raises(UnknownNameError, match="'fr'"):  # before anything is downloaded
        build_debref(tmp_path / "out", languages=["en", "fr"], cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "out").exists()

