"""The Python-docs IR set builders: HTML -> text, sections and their queries, API entries, the builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from densefit.data.beir import load_beir
from densefit.data.builders import pydocs
from densefit.data.builders.pydocs import (
    ApiEntry,
    Section,
    api_from_folder,
    drop_duplicated,
    drop_leaking,
    parse_html,
    read_api_entries,
    read_sections,
    section_queries,
    sections_from_folder,
    short_title,
    text_of,
    truncate_words,
)
from densefit.data.builders.splits import verbatim_leaks
from densefit.errors import DensefitError

PERMALINK = '<a class="headerlink" href="#{0}" title="Permalink to this heading">¶</a>'


def page(title: str, body: str, module: str = "json") -> str:
    """A library page shaped like Sphinx output: sidebar headings outside the body, h1 section inside."""
    return f"""<html><head><title>{title} &#8212; Python 3.11.2 documentation</title>
<script>var x = "<h2>not a heading</h2>";</script></head><body>
<div class="sphinxsidebar"><h3>Table of Contents</h3><h4>Previous topic</h4></div>
<div class="body" role="main">
<section id="module-{module}">
<span id="anchor"></span><h1><code class="xref py py-mod"><span class="pre">{module}</span></code>{title[len(module):]}
{PERMALINK.format("module-" + module)}</h1>
<p><strong>Source code:</strong> Lib/{module}.py</p>
{body}
</section></div></body></html>"""


def section(anchor: str, heading: str, body: str, level: int = 2) -> str:
    return f'<section id="{anchor}">\n<h{level}>{heading}{PERMALINK.format(anchor)}</h{level}>\n{body}\n</section>'


JSON_PAGE = page("json — JSON encoder and decoder", section("basic-usage", "Basic Usage", """
<p>Serialize <em>obj</em> as a
JSON formatted stream.</p>
<pre>&gt;&gt;&gt; import json
&gt;&gt;&gt; json.dumps([1, 2])</pre>""" + section("character-encodings", "<span class=\"section-number\">1.2. </span>"
                                             "Character Encodings", "<p>The RFC requires UTF-8.</p>", 3))
                 + section("examples", "Examples", "<p>Decoding a document.</p>"))

API_PAGE = page("os.path — Common pathname manipulations", """
<dl class="py function">
<dt class="sig sig-object py" id="os.path.join">
<span class="sig-prename descclassname"><span class="pre">os.path.</span></span><span class="sig-name descname">
<span class="pre">join</span></span><span class="sig-paren">(</span><em class="sig-param">path</em>
<span class="sig-paren">)</span><a class="headerlink" href="#os.path.join" title="Permalink">¶</a></dt>
<dd><p>Join one or more path segments intelligently.</p></dd></dl>
<dl class="py class">
<dt class="sig sig-object py" id="os.path.Walker">
<em class="property">class </em><span class="sig-name descname">Walker</span></dt>
<dd><p>Walks a tree.</p>
<dl class="py method">
<dt class="sig sig-object py" id="os.path.Walker.step">step()</dt>
<dd><p>Take one step.</p></dd></dl>
<p>Changed in version 3.11.</p></dd></dl>
<dl class="py function">
<dt class="sig sig-object py">join(path)</dt>
<dd><p>A noindex duplicate of the first entry.</p></dd></dl>
<dl class="c function">
<dt class="sig sig-object c" id="c.PyList_Append">int PyList_Append(PyObject *list)</dt>
<dd><em class="stableabi"> Part of the Stable ABI.</em><p>Append the object at the end of the list.</p></dd></dl>
<dl class="c function">
<dt class="sig sig-object c" id="c.Py_Only">void Py_Only()</dt>
<dd><em class="refcount">Return value: New reference.</em></dd></dl>
<dl class="std envvar">
<dt class="sig sig-object std" id="envvar-PYTHONPATH">PYTHONPATH</dt>
<dd><p>Augment the default search path for module files.</p></dd></dl>
<dl class="field-list simple"><dt>Parameters</dt><dd><p>not an entry</p></dd></dl>
""", module="os.path")


# --------------------------------------------------------------------------- HTML -> text


def test_text_of_drops_permalinks_and_scripts_and_keeps_blocks_and_pre_lines() -> None:
    tree = parse_html('<p>one\n<b>two</b>¶</p><a class="headerlink">¶</a><script>x = 1</script>'
                      "<pre>a = 1\n  b = 2</pre><ul><li>item</li></ul>")
    assert text_of(tree) == "one two¶\na = 1\nb = 2\nitem"


def test_unclosed_tags_are_closed_by_their_parent() -> None:
    tree = parse_html("<div><p>first<p>second</div><p>after</p>")
    assert text_of(tree) == "first\nsecond\nafter"
    div = next(e for e in tree.iter() if e.tag == "div")
    assert text_of(div) == "first\nsecond"


def test_truncate_words_keeps_line_breaks() -> None:
    assert truncate_words("a b\nc d e", 3) == "a b\nc"
    assert truncate_words("a b", 3) == "a b"


def test_short_title_is_the_module_name_else_the_whole_title() -> None:
    assert short_title("json — JSON encoder and decoder") == "json"
    assert short_title("importlib.abc – Abstract base classes") == "importlib.abc"
    assert short_title("email.parser: Parsing email messages") == "email.parser"
    assert short_title("Built-in Types") == "Built-in Types"


# --------------------------------------------------------------------------- sections


def test_sections_have_own_text_without_heading_subsections_pilcrow_or_numbering() -> None:
    sections = read_sections(JSON_PAGE, "library/json.html")
    assert [(s.doc_id, s.title, s.heading) for s in sections] == [
        ("library/json.html#basic-usage", "json — JSON encoder and decoder", "Basic Usage"),
        ("library/json.html#character-encodings", "json — JSON encoder and decoder", "Character Encodings"),
        ("library/json.html#examples", "json — JSON encoder and decoder", "Examples"),
    ]
    basic = sections[0]
    assert basic.text == "Serialize obj as a JSON formatted stream.\n>>> import json\n>>> json.dumps([1, 2])"
    assert sections[1].text == "The RFC requires UTF-8."
    assert all("¶" not in s.text + s.heading for s in sections)


def test_section_text_is_cut_at_section_words() -> None:
    long = page("json — JSON", section("long", "Long", "<p>" + "word " * 1000 + "</p>"))
    assert len(read_sections(long, "library/json.html")[0].text.split()) == pydocs.SECTION_WORDS


def _sections(*specs: tuple[str, str, str]) -> list[Section]:
    return [Section(f"library/{p}.html#{anchor}", f"{p} — the {p} module", heading, "text")
            for p, anchor, heading in specs]


def test_generic_and_ambiguous_headings_are_qualified_by_the_page() -> None:
    groups = section_queries(_sections(
        ("json", "examples", "Examples"), ("csv", "examples", "examples"),  # on two pages
        ("json", "caveats", "Caveats"),  # one plain word
        ("json", "basic-usage", "Basic Usage"),  # each word heads sections on three pages
        ("csv", "basic", "Basic syntax"), ("re", "basic", "Basic patterns"),
        ("csv", "usage", "Usage notes"), ("re", "usage", "Usage of flags"),
        ("json", "encoders", "Encoders and Decoders"),
    ))
    assert groups == {
        "json — Examples": ["library/json.html#examples"], "csv — examples": ["library/csv.html#examples"],
        "json — Caveats": ["library/json.html#caveats"], "json — Basic Usage": ["library/json.html#basic-usage"],
        "Basic syntax": ["library/csv.html#basic"], "Basic patterns": ["library/re.html#basic"],
        "Usage notes": ["library/csv.html#usage"], "Usage of flags": ["library/re.html#usage"],
        "Encoders and Decoders": ["library/json.html#encoders"],
    }


def test_headings_that_read_the_same_on_a_page_share_one_query() -> None:
    groups = section_queries(_sections(("ttk", "options", "Options"), ("ttk", "id1", "options"),
                                       ("ttk", "cli", "Command-line interface"),
                                       ("ttk", "cli2", "Command Line Interface")))
    assert groups == {"ttk — Options": ["library/ttk.html#id1", "library/ttk.html#options"],
                      "Command-line interface": ["library/ttk.html#cli", "library/ttk.html#cli2"]}


def test_queries_found_verbatim_in_a_relevant_doc_are_dropped() -> None:
    corpus = {"a": {"title": "json", "text": "Use the Basic  USAGE here."}, "b": {"title": "csv", "text": "x"},
              "c": {"title": "Sniffer objects", "text": "y"}}
    groups = {"Basic Usage": ["a"], "Dialects": ["b"], "Both": ["a", "b"], "Sniffer Objects": ["c"]}
    assert drop_leaking(groups, corpus) == {"Dialects": ["b"], "Both": ["a", "b"]}


def test_queries_whose_doc_reads_like_an_irrelevant_one_are_dropped() -> None:
    corpus = {"a": {"title": "http", "text": "A subclass."}, "b": {"title": "http", "text": "a  SUBCLASS."},
              "c": {"title": "http", "text": "Other."}}
    assert drop_duplicated({"A": ["a"], "AB": ["a", "b"], "C": ["c"]}, corpus) == {"AB": ["a", "b"], "C": ["c"]}


# --------------------------------------------------------------------------- API entries


def test_api_entries_take_names_from_anchors_and_descriptions_without_signature_or_nesting() -> None:
    entries = read_api_entries(API_PAGE, "library/os.path.html")
    title = "os.path — Common pathname manipulations"
    assert entries == [
        ApiEntry("library/os.path.html#os.path.join", ("os.path.join",), title,
                 "Join one or more path segments intelligently."),
        ApiEntry("library/os.path.html#os.path.Walker", ("os.path.Walker",), title,
                 "Walks a tree.\nChanged in version 3.11."),
        ApiEntry("library/os.path.html#os.path.Walker.step", ("os.path.Walker.step",), title, "Take one step."),
        ApiEntry("library/os.path.html#unnamed-3", (), title, "A noindex duplicate of the first entry."),
        ApiEntry("library/os.path.html#c.PyList_Append", ("PyList_Append",), title,
                 "Append the object at the end of the list."),
        ApiEntry("library/os.path.html#c.Py_Only", ("Py_Only",), title, ""),
        ApiEntry("library/os.path.html#envvar-PYTHONPATH", (), title,
                 "Augment the default search path for module files."),
    ]


def test_api_description_is_cut_at_api_words() -> None:
    long = page("os — OS", '<dl class="py function"><dt id="os.f">f()</dt><dd><p>' + "w " * 900 + "</p></dd></dl>",
                module="os")
    assert len(read_api_entries(long, "library/os.html")[0].text.split()) == pydocs.API_WORDS


# --------------------------------------------------------------------------- builds from a folder


def write_tree(root: Path, pages: dict[str, str]) -> Path:
    """A fake unpacked package: `pages` (relative path -> HTML) under usr/share/doc/python3.11/html."""
    html = root / pydocs.HTML_ROOT
    for name, source in pages.items():
        (html / name).parent.mkdir(parents=True, exist_ok=True)
        (html / name).write_text(source, encoding="utf-8")
    return html


def many_sections_pages(pages: int, per_page: int) -> dict[str, str]:
    """Pages of specific, non-leaking sections, plus one "Examples" section per page."""
    out = {}
    for p in range(pages):
        body = "".join(section(f"s{i}", f"Frobnicating widget{p}x{i}", f"<p>How gadget {p}-{i} works.</p>")
                       for i in range(per_page))
        body += section("examples", "Examples", f"<p>Usage of mod{p}.</p>") + section("empty", "Empty", "")
        out[f"library/mod{p}.html"] = page(f"mod{p} — module {p}", body, module=f"mod{p}")
    return out


def test_sections_from_folder_splits_by_document_without_leaks(tmp_path: Path) -> None:
    html = write_tree(tmp_path, {**many_sections_pages(4, 110),
                                 "library/leaky.html": page("leaky — x", section("a", "Widget Gadgetry",
                                                                                 "<p>On widget gadgetry.</p>"),
                                                            module="leaky"),
                                 "tutorial/skipped.html": page("tut — x", section("t", "Tutorial only", "<p>x</p>"),
                                                               module="tut")})
    data, dropped = sections_from_folder(html, test=320, dev=20, train=50, seed=0)
    assert len(data.corpus) == 4 * 111 + 1
    assert "library/mod2.html#examples" in data.corpus and not any(d.startswith("tutorial/") for d in data.corpus)
    assert data.split_sizes() == {"train": 50, "dev": 20, "test": 320}
    assert dropped == {"empty_docs": 4, "verbatim_queries": 1, "duplicate_doc_queries": 0, "straddling_queries": 0,
                       "over_train_cap_queries": 4 * 111 - 340 - 50}
    assert "mod2 — Examples" in data.queries.values() and verbatim_leaks(data) == 0


def test_api_from_folder_keeps_unnamed_entries_as_distractors(tmp_path: Path) -> None:
    entries = "".join(f'<dl class="py function"><dt class="sig sig-object py" id="mod.f{i}">f{i}()</dt>'
                      f"<dd><p>Frobnicate gadget number {i}.</p></dd></dl>" for i in range(400))
    entries += '<dl class="py function"><dt id="mod.g">g()</dt><dd><p>Like mod.g but not.</p></dd></dl>'
    html = write_tree(tmp_path, {"library/mod.html": page("mod — m", entries, module="mod"),
                                 "c-api/os.html": API_PAGE})
    data, dropped = api_from_folder(html, test=320, dev=20, train=None, seed=0)
    assert len(data.corpus) == 401 + 6
    assert "c-api/os.html#envvar-PYTHONPATH" in data.corpus and "PyList_Append" in data.queries.values()
    assert dropped == {"empty_docs": 1, "unnamed_docs": 2, "verbatim_queries": 1, "duplicate_doc_queries": 0,
                       "straddling_queries": 0, "over_train_cap_queries": 0}
    assert sum(data.split_sizes().values()) == len(data.queries) == 400 + 4


def test_builds_write_beir_and_refuse_a_small_api_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path / "tree", many_sections_pages(4, 110))
    monkeypatch.setattr(pydocs, "fetch_debian_tree", lambda packages, cache, hint: tmp_path / "tree")
    summary = pydocs.build_pydocs_sections(tmp_path / "out", test=320, dev=20)
    assert (summary.docs, summary.queries, summary.split_sizes) == (444, 444, {"train": 104, "dev": 20, "test": 320})
    irset = load_beir(summary.out_dir)
    assert len(irset.qrels) == 320 and irset.titles
    with pytest.raises(DensefitError, match="only 0 documents .* at least 10000"):
        pydocs.build_pydocs_api(tmp_path / "api", test=0, dev=0)


def test_a_too_small_test_split_and_negative_sizes_are_refused(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    html = write_tree(tmp_path, many_sections_pages(1, 50))
    with pytest.raises(DensefitError, match="only 40 test queries"):
        sections_from_folder(html, test=40, dev=5, train=None, seed=0)
    monkeypatch.setattr(pydocs, "fetch_debian_tree", lambda packages, cache, hint: tmp_path)
    with pytest.raises(DensefitError, match="must not be negative"):
        pydocs.build_pydocs_sections(tmp_path / "out", test=-1)


def test_a_tree_without_library_pages_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydocs, "fetch_debian_tree", lambda packages, cache, hint: tmp_path)
    with pytest.raises(DensefitError, match="layout has changed"):
        pydocs.build_pydocs_sections(tmp_path / "out", cache_dir=tmp_path)
