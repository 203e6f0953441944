"""Read article files, strip the furniture of scraped pages, and infer what the text shows.

Everything here is pure except `read_article_file`, which reads one file.

The cleaner works on lines, with general rules that hold for scraped news pages:
a body line is prose (it ends like a sentence, or is long enough to be one); navigation
labels, buttons, tag lists and section headers are short and unpunctuated; promotions carry
a link or a call to action; photo captions carry a credit. The first headline-shaped line
before the body is the title, never a passage.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date

from .models import Article, Paragraph, Source

MAX_FILE_BYTES = 10 * 1024 * 1024

AGENCIES = {
    "AP": "Associated Press",
    "AFP": "Agence France-Presse",
    "REUTERS": "Reuters",
    "UPI": "United Press International",
    "DPA": "dpa",
    "ANSA": "ANSA",
    "EFE": "EFE",
    "XINHUA": "Xinhua",
    "YONHAP": "Yonhap",
    "CNN": "CNN",
    "PA": "PA Media",
}

_TERMINAL = ".!?…\"”’'»)"
_DATE_PREFIX = re.compile(r"^\s*(?:date|published|updated)?[:\s]*(\d{4}-\d{2}-\d{2})\b[\s,|·-]*", re.I)
# "SEOUL, South Korea (AP) — ", "LONDON (Reuters) - "
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z .'\-]{1,40}(?:,\s*[A-Z][\w .'\-]{1,40})?)\s*"
    r"\((?P<agency>[A-Za-z][A-Za-z .]{0,20})\)\s*[—–-]{1,2}\s*"
)
_URL = re.compile(r"https?://|www\.\w", re.I)
_CALL_TO_ACTION = re.compile(
    r"\b(download|install|subscribe|sign up|follow (us|the|our)|join (us|our)|share (this|on)|"
    r"click here|tap here|read more|watch now|listen now|get the app|open in app|newsletter)\b",
    re.I,
)
_CREDIT_SLASH = re.compile(r"\b[A-Z][A-Z'\-]+(?:\s[A-Z][A-Z'\-]+)*/(?:[A-Z][A-Za-z]*/?)+")  # GAVRIIL GRIGOROV/POOL/AFP
_PICTURE_AGENCY = re.compile(r"\b(?:Getty|GETTY|Shutterstock|SHUTTERSTOCK|Alamy|ALAMY) (?:Images?|IMAGES?)\b")
_PHOTO_LABEL = re.compile(r"^\s*\(?(?:photo|photograph|picture|image|credit|video|illustration)s?\s*(?:credit)?\s*[:/]", re.I)
_CAPTION_LEAD = re.compile(
    r"^(?:in )?this (?:\w+ ){0,2}(?:photo|photograph|picture|image|handout|file photo|video grab)\b", re.I
)
_FOOTER_LABEL = re.compile(r"^(tags?|topics?|related( \w+)?|filed under|more on|see also|keywords)\s*:?\s*$", re.I)
_WORD = re.compile(r"\w+(?:['’.\-]\w+)*")


class ArticleError(Exception):
    """An article file that cannot be used; the message says why."""


def decode_article(data: bytes, name: str) -> tuple[str, list[str]]:
    """Decode bytes as UTF-8 text, returning the text and any warnings.

    Raises ArticleError for files that are empty, binary, or too large.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ArticleError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB ({len(data):,} bytes)")
    if not data.strip():
        raise ArticleError("empty file")
    if b"\x00" in data[:8192] or _binary_share(data[:8192]) > 0.1:
        raise ArticleError("binary file, not text")
    warnings: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", errors="replace")
        warnings.append(f"{name}: not valid UTF-8 (first bad byte at {error.start}); bad bytes replaced")
    return unicodedata.normalize("NFC", text), warnings


_NOT_CONTROL = bytes([9, 10, 12, 13, *range(32, 256)])


def _binary_share(sample: bytes) -> float:
    controls = len(sample.translate(None, _NOT_CONTROL))  # what is left are the control bytes
    return controls / max(len(sample), 1)


def words(line: str) -> list[str]:
    return _WORD.findall(line)


def is_prose(line: str, n: int | None = None) -> bool:
    """True when a line (of `n` words, if counted already) reads as running text rather than page furniture."""
    n = len(words(line)) if n is None else n
    if n >= 12:
        return True
    return n >= 4 and line.rstrip()[-1] in _TERMINAL


def _count_words(line: str, enough: int = 15) -> int:
    """The number of words in a line, or any number >= `enough` when it has that many (long lines stop early)."""
    n = len(_WORD.findall(line, 0, 200))  # a prefix has no more words than the line
    return n if n >= enough else len(_WORD.findall(line))


def is_furniture(line: str) -> bool:
    """True for lines that never carry article text: labels, promos, captions, credits."""
    n = _count_words(line)
    if n == 0:
        return True
    if is_credit(line) or _CAPTION_LEAD.search(line):
        return True
    if n < 15 and (_URL.search(line) or _CALL_TO_ACTION.search(line)):
        return True
    if line.rstrip().endswith(":") and n < 8:
        return True
    return not is_prose(line, n)


def is_credit(line: str) -> bool:
    """A photo credit: CAPITALS/AGENCY, a picture agency's name, or a "Photo:" label."""
    return bool(("/" in line and _CREDIT_SLASH.search(line)) or _PICTURE_AGENCY.search(line) or _PHOTO_LABEL.match(line))


def looks_like_headline(line: str) -> bool:
    n = len(words(line))
    return 4 <= n <= 25 and line.rstrip()[-1] not in ".:;," and not is_furniture_strict(line)


def is_furniture_strict(line: str) -> bool:
    """Furniture by content (links, calls to action, credits), whatever the line's length."""
    return bool(_URL.search(line) or is_credit(line) or _CAPTION_LEAD.search(line) or _CALL_TO_ACTION.search(line))


def _blocks(text: str) -> list[str]:
    """Split on layout: every non-blank line is a block; hard-wrapped lines are joined."""
    blocks: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            if pending:
                blocks.append(pending)
                pending = ""
            continue
        if pending and pending[-1] not in _TERMINAL and line[0].islower():
            pending = f"{pending} {line}"  # a hard-wrapped sentence continues
            continue
        if pending:
            blocks.append(pending)
        pending = line
    if pending:
        blocks.append(pending)
    return blocks


def _strip_prefixes(block: str) -> tuple[str, date | None, str | None]:
    """Remove a leading 'date YYYY-MM-DD' and dateline ('SEOUL, South Korea (AP) —')."""
    published = None
    agency = None
    match = _DATE_PREFIX.match(block)
    if match:
        try:
            published = date.fromisoformat(match.group(1))
            block = block[match.end() :]
        except ValueError:
            pass
    match = _DATELINE.match(block)
    if match:
        code = match.group("agency").strip()
        agency = AGENCIES.get(code.upper().replace(".", ""), code)
        block = block[match.end() :]
    return block.strip(), published, agency


def clean_article(text: str, article_id: str) -> Article:
    """Turn raw page text into an Article: title, date and agency inferred, furniture removed."""
    blocks = _blocks(text)
    title = None
    published = None
    outlet = None
    dropped: list[str] = []
    body: list[str] = []
    in_footer = False
    for block in blocks:
        if not body:
            block, found_date, found_agency = _strip_prefixes(block)
            published = published or found_date
            outlet = outlet or found_agency
            if not block:
                continue
            if title is None and looks_like_headline(block) and not is_prose_sentence(block):
                title = block
                continue
        if _FOOTER_LABEL.match(block):
            in_footer = True
        if in_footer and not is_prose(block):
            dropped.append(block)
            continue
        in_footer = False
        if is_furniture(block):
            dropped.append(block)
            continue
        body.append(block)
    paragraphs = tuple(Paragraph(number=i, text=b) for i, b in enumerate(body))
    source = Source(article_id=article_id, title=title, outlet=outlet, published=published)
    return Article(source=source, paragraphs=paragraphs, dropped_lines=tuple(dropped))


def is_prose_sentence(block: str) -> bool:
    """A block that ends like a sentence is body text even at the top of a page."""
    return block.rstrip()[-1] in ".!?…" and len(words(block)) >= 4


def apply_metadata(article: Article, metadata: dict[str, object]) -> Article:
    """Overlay metadata given by the user on what was inferred from the text."""
    fields: dict[str, object] = {}
    for key in ("title", "outlet", "url"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            fields[key] = value.strip()
    published = metadata.get("published")
    if isinstance(published, date):
        fields["published"] = published
    elif isinstance(published, str) and published.strip():
        fields["published"] = date.fromisoformat(published.strip()[:10])
    return replace(article, source=replace(article.source, **fields))  # type: ignore[arg-type]


def read_article_file(data: bytes, article_id: str, metadata: dict[str, object] | None = None) -> tuple[Article, list[str]]:
    """Decode and clean one article file's bytes. Raises ArticleError if it cannot be used."""
    text, warnings = decode_article(data, article_id)
    article = clean_article(text, article_id)
    if metadata:
        try:
            article = apply_metadata(article, metadata)
        except ValueError as error:
            warnings.append(f"{article_id}: bad metadata ignored ({error})")
    return article, warnings
