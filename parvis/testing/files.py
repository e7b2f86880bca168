"""Real files for upload tests, good and malicious, built in memory (small on disk).

parvis.uploads parses what it accepts (Pillow reads an image's header, pypdf walks a PDF), so a
test file must be a real one: ``pdf_bytes()``, ``png_bytes()``, ``jpeg_bytes()``. The malicious
ones are built the way an attacker would: ``png_claiming(60_000, 60_000)`` is a 45-byte PNG whose
header claims 3.6 billion pixels; ``pdf_bytes(catalog=OPEN_ACTION_JS)`` a PDF that runs
JavaScript when opened; ``encrypted_pdf()`` one that needs a password."""

from __future__ import annotations

import io
import struct
import zlib

OPEN_ACTION_JS = b"/OpenAction << /Type /Action /S /JavaScript /JS (app.alert\\(1\\)) >>"
NAMES_JS = (
    b"/Names << /JavaScript << /Names [(x) << /S /JavaScript /JS (app.alert\\(1\\)) >>] >> >>"
)
OPEN_ACTION_LAUNCH = b"/OpenAction << /Type /Action /S /Launch /F (cmd.exe) >>"
EMBEDDED_FILES = (
    b"/Names << /EmbeddedFiles << /Names [(a.exe) << /Type /Filespec /F (a.exe) "
    b"/EF << /F 6 0 R >> >>] >> >>"
)
# A page annotation carrying a file (the paper clip), with no names tree at all.
FILE_ATTACHMENT = (
    b"/Annots [<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] "
    b"/FS << /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >> >>]"
)

# An XFA form (the catalog's /AcroForm pointing to object 7, its XML: `xfa_packet(...)` given as
# the first `extra` object); XFA_SCRIPT is a field's script, run by readers that do XFA.
XFA_FORM = b"/AcroForm << /Fields [] /XFA 7 0 R >>"
XFA_SCRIPT = b"<field name='nom'><event activity='initialize'><script contentType=" \
    b"'application/x-javascript'>app.alert(1)</script></event></field>"  # fmt: skip


def xfa_packet(body: bytes) -> bytes:
    xml = b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'><template>" + body + b"</template>"
    xml += b"</xdp:xdp>"
    return b"<< /Length %d >>\nstream\n" % len(xml) + xml + b"\nendstream"


def pdf_bytes(
    text: str = "Parvis test",
    *,
    catalog: bytes = b"",
    page: bytes = b"",
    extra: tuple[bytes, ...] = (),
    size: int | None = None,
) -> bytes:
    """A one-page PDF showing `text`, with `catalog` and `page` entries added to the catalog and
    the page dictionaries, and `extra` objects that nothing points to (numbered from 7); padded
    (in a comment inside its content stream) to exactly `size` bytes when given."""
    content = b"BT /F1 12 Tf 60 780 Td (" + text.encode("latin-1") + b") Tj ET"

    def build(padding: int) -> bytes:
        stream = content + b"\n%" + b"0" * padding if padding else content
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R " + page + b" >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        # Object 6: the file an attachment points to (else a harmless number).
        if b"6 0 R" in catalog + page:
            objects.append(b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream")
        else:
            objects.append(b"42")
        objects += extra
        out = bytearray(b"%PDF-1.4\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%010d\n%%%%EOF\n" % (
            len(objects) + 1,
            xref,
        )
        return bytes(out)

    plain = build(0)
    if size is None:
        return plain
    # The padding's digits change the stream's /Length and the offsets: two passes settle it.
    padded = build(max(size - len(plain) - 2, 1))
    padded = build(max(size - len(plain) - 2 - (len(padded) - size), 1))
    assert len(padded) == size, (len(padded), size)
    return padded


def encrypted_pdf(password: str = "secret") -> bytes:  # noqa: S107
    """A PDF that opens only with `password` (RC4, which pypdf handles on its own)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    owner = "owner"
    writer.encrypt(user_password=password, owner_password=owner, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a header and its end only: small on disk, `width` × `height` when decoded."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 16, height: int = 16) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(out, "JPEG")
    return out.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is rewritten to claim `width` × `height`."""
    data = bytearray(jpeg_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)
