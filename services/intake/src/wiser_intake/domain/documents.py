"""Document rules: the bytes decide the type, not the name or the declared type."""

from __future__ import annotations

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_DOCUMENTS = 20
ACCEPTED = ("application/pdf", "image/tiff", "image/png", "image/jpeg")
CATEGORIES = ("clinical", "order", "imaging", "correspondence", "other")


def sniff(head: bytes) -> str | None:
    """The content type the first bytes prove, or None if not an accepted type."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    return None


def safe_filename(name: str | None) -> str:
    base = (name or "document").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isalnum() or c in "._- ")[:120].strip()
    return cleaned or "document"
