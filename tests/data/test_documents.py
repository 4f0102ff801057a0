"""Each reader on a real file the test writes itself; unreadable files are skipped with their reason."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from densefit.data.documents.folder import Skipped, read_file, scan, skip_reason

MAN_PAGE = r""".TH CHMOD 1 2024 "GNU coreutils"
.SH NAME
chmod \- change file mode bits
.SH SYNOPSIS
.B chmod
[\fIOPTION\fR]... \fIMODE\fR FILE...
.SH DESCRIPTION
This manual page documents the GNU version of
.BR chmod .
It changes the file mode bits of each given file according to mode.
.SS Setuid and setgid bits
These bits are cleared for regular files unless told otherwise.
"""


def make_pdf(path: Path, text: str, password: str | None = None) -> Path:
    """A one-page PDF with a real text layer (Helvetica), written with pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    if password:
        writer.encrypt(password)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def read_one(root: Path, name: str):
    entry = next(e for e in scan(root) if e.path == name)
    assert skip_reason(entry, 10**7) is None
    return read_file(root, entry)[1]


def test_html_keeps_headings_drops_navigation(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Disk quotas</title><script>var x = 1;</script></head><body><nav>Home | Next</nav>"
        "<h1>Disk quotas<a class='headerlink' href='#q'>¶</a></h1><p>Quotas limit the <code>space</code> a user "
        "may use.</p><h2>Grace period</h2><p>Soft limits may be exceeded for a while.</p></body></html>")
    [doc] = read_one(tmp_path, "page.html")
    assert doc.title == "Disk quotas" and doc.source == "page.html"
    heads = {s.heading: s.text for s in doc.sections}
    assert heads["Disk quotas"] == "Quotas limit the space a user may use."
    assert heads["Grace period"] == "Soft limits may be exceeded for a while."
    assert "var x" not in str(doc) and "Home | Next" not in str(doc) and "¶" not in str(doc)


def test_markdown_and_rst_sections(tmp_path):
    (tmp_path / "a.md").write_text("---\nlayout: x\n---\n# Backups\n\nRun it nightly.\n\n## Restore\n\n"
                                   "```\n# not a heading\n```\nCopy back.\n")
    (tmp_path / "b.rst").write_text("Networking\n==========\n\nInterfaces come up at boot.\n\nRoutes\n------\n\n"
                                    "The default route goes first.\n")
    [md] = read_one(tmp_path, "a.md")
    assert md.title == "Backups" and [s.heading for s in md.sections] == ["Backups", "Restore"]
    assert "# not a heading" in md.sections[1].text and "layout" not in str(md)
    [rst] = read_one(tmp_path, "b.rst")
    assert rst.title == "Networking" and [s.heading for s in rst.sections] == ["Networking", "Routes"]


def test_gzipped_man_page(tmp_path):
    (tmp_path / "chmod.1.gz").write_bytes(gzip.compress(MAN_PAGE.encode()))
    (tmp_path / "alias.1").write_text(".so man1/chmod.1\n")
    [doc] = read_one(tmp_path, "chmod.1.gz")
    assert doc.title == "chmod - change file mode bits"
    assert [s.heading for s in doc.sections] == ["SYNOPSIS", "DESCRIPTION", "Setuid and setgid bits"]
    assert "documents the GNU version of chmod." in doc.sections[1].text
    assert read_one(tmp_path, "alias.1") == Skipped("alias.1", "alias (.so) of another page")


def test_pdf_text_and_encrypted_pdf(tmp_path):
    make_pdf(tmp_path / "guide.pdf", "Rotate the keys every ninety days")
    make_pdf(tmp_path / "secret.pdf", "hidden", password="pw")
    [doc] = read_one(tmp_path, "guide.pdf")
    assert doc.sections[0].heading == "page 1" and "Rotate the keys every ninety days" in doc.sections[0].text
    skipped = read_one(tmp_path, "secret.pdf")
    assert isinstance(skipped, Skipped) and "encrypted" in skipped.reason


def test_records_and_text(tmp_path):
    (tmp_path / "faq.jsonl").write_text('{"id": "q1", "title": "Reset", "text": "Hold the button."}\n'
                                        '{"id": "q2", "text": "Charge it overnight."}\n')
    (tmp_path / "notes.txt").write_text("Release notes\n\nThe parser is faster.\n")
    docs = read_one(tmp_path, "faq.jsonl")
    assert [(d.source, d.title) for d in docs] == [("faq.jsonl#q1", "Reset"), ("faq.jsonl#q2", "")]
    [txt] = read_one(tmp_path, "notes.txt")
    assert txt.title == "Release notes" and "parser is faster" in txt.sections[0].text


def test_unreadable_files_are_skipped_with_reasons(tmp_path):
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01binary")
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"text": 3}\n')
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (tmp_path / ".hidden.md").write_text("# secret")
    entries = {e.path: e for e in scan(tmp_path)}
    assert ".hidden.md" not in entries
    assert skip_reason(entries["empty.md"], 10**7) == "empty file"
    assert "unsupported type '.png'" in skip_reason(entries["image.png"], 10**7)
    assert "larger than" in skip_reason(entries["blob.txt"], 2)
    reasons = {name: read_file(tmp_path, entries[name])[1].reason for name in
               ("blob.txt", "latin.txt", "bad.jsonl", "broken.pdf")}
    assert reasons["blob.txt"].startswith("binary") and reasons["latin.txt"].startswith("not UTF-8")
    assert ":2:" in reasons["bad.jsonl"] and "not a readable PDF" in reasons["broken.pdf"]


@pytest.mark.parametrize("name", ["x.1", "x.8", "x.3pm.gz", "x.5.gz"])
def test_man_names(name):
    from densefit.data.documents.registry import type_of

    assert type_of(Path(name)) == "man"
