"""The built-in demo corpus: English sentences from Python's own help pages.

Every CPython ships ``pydoc_data.topics.topics``, the plain-text help for the
language reference (about 465k characters: "The "if" statement is used for
conditional execution..."). `demo_sentences` turns it into one sentence per
line, deterministically:

* topics are read in sorted order, as paragraphs separated by blank lines;
* headings (a line underlined with ``***``, ``===`` or ``---``) and rule
  lines are dropped; so are paragraphs holding grammar (``::=``), tables
  (``+---``/``|``), interactive examples (``>>>``), and indented paragraphs
  that look like code (mixed indentation, ``=`` signs, lines ending in ``:``);
* paragraph lines are joined, emphasis marks (``*x*``, ``**x**``), footnote
  marks (``[5]``) and the quotes pydoc puts around single code words
  (``"if"`` -> ``if``) are removed, curly quotes become straight ones,
  whitespace is collapsed;
* paragraphs are split into sentences after ``.``, ``?``, ``!`` followed by
  a space and a capital letter or quote;
* a sentence is kept when it has at least 20 characters, starts with a
  capital letter, ends with ``.``, ``?``, ``!`` or ``:``, and at least 80% of
  its characters are letters or spaces; repeats are dropped.

It is a demo that works offline, not the Billion Word benchmark: the text is
technical prose about Python, a couple of thousand sentences. The cache
fingerprint includes the Python version and a hash of the help text.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator
from functools import lru_cache

from chargan.corpora.sources import CorpusSource

#: Bump when the cleaning rules change (invalidates cached demo corpora).
DEMO_VERSION = 1
MIN_CHARS = 20
MIN_LETTER_SHARE = 0.80

_RULE = re.compile(r"^\s*([*=\-~^#+])\1{2,}\s*$")
_SPLIT = re.compile(r"(?<=[.?!])\s+(?=[A-Z\"'(])")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_SUBS = [
    (re.compile(r"^[*\-] "), ""),  # list bullet
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),  # **strong**
    (re.compile(r"(?<!\w)\*(\S[^*]*?)\*(?!\w)"), r"\1"),  # *emphasis*
    (re.compile(r"\s*\[\d+\]"), ""),  # footnote marks
    (re.compile(r'"([^"\s]+)"'), r"\1"),  # "code" quotes around one word
    (re.compile(r"\s+"), " "),
]


def _topics() -> dict[str, str]:
    from pydoc_data.topics import topics  # about 0.7 MB of help text: loaded only to build the demo

    return topics


def _paragraphs(text: str) -> Iterator[list[str]]:
    para: list[str] = []
    for line in text.splitlines():
        if line.strip():
            para.append(line)
        elif para:
            yield para
            para = []
    if para:
        yield para


def _prose(para: list[str]) -> str | None:
    """A paragraph as one line of prose, or None when it is not prose."""
    lines: list[str] = []
    i = 0
    while i < len(para):
        if i + 1 < len(para) and _RULE.match(para[i + 1]):  # heading + underline
            i += 2
        elif _RULE.match(para[i]):
            i += 1
        else:
            lines.append(para[i])
            i += 1
    if not lines:
        return None
    if any("::=" in ln or ">>>" in ln or ln.lstrip().startswith(("+-", "|")) for ln in lines):
        return None
    if lines[0][:1].isspace():  # indented: prose (definition bodies) or code
        indents = {len(ln) - len(ln.lstrip()) for ln in lines}
        if len(indents) > 1 or any(ln.rstrip().endswith(":") or "=" in ln for ln in lines):
            return None
    text = " ".join(ln.strip() for ln in lines)
    for pattern, repl in _SUBS:
        text = pattern.sub(repl, text)
    return text.strip()


def _is_sentence(s: str) -> bool:
    if len(s) < MIN_CHARS or s[-1] not in ".?!:" or not s[0].isupper():
        return False
    letters = sum(c.isalpha() or c == " " for c in s)
    return letters >= MIN_LETTER_SHARE * len(s)


@lru_cache(maxsize=1)
def demo_sentences() -> tuple[str, ...]:
    """The demo corpus, one sentence per item, in a fixed order."""
    topics = _topics()
    seen: set[str] = set()
    out: list[str] = []
    for key in sorted(topics):
        for para in _paragraphs(topics[key].translate(_QUOTES)):
            text = _prose(para)
            if not text:
                continue
            for sentence in _SPLIT.split(text):
                sentence = sentence.strip()
                if _is_sentence(sentence) and sentence not in seen:
                    seen.add(sentence)
                    out.append(sentence)
    return tuple(out)


class DemoSource(CorpusSource):
    """`demo_sentences` as a corpus source."""

    kind = "demo"
    name = "demo"
    slug = "demo"
    identity = "demo"
    show_progress = False

    def fingerprint_data(self) -> dict:
        topics = _topics()
        h = hashlib.sha256()
        for key in sorted(topics):
            h.update(key.encode() + b"\0" + topics[key].encode() + b"\0")
        return {
            "kind": self.kind,
            "demo_version": DEMO_VERSION,
            "python": sys.version,
            "topics_sha256": h.hexdigest(),
        }

    def batches(self) -> Iterator[tuple[str, list[str]]]:
        yield "pydoc_data.topics", list(demo_sentences())

    def describe(self, n_lines: int, limited: bool = False) -> str:
        return (
            f"demo corpus: Python's bundled help topics (pydoc_data), {'first ' * limited}{n_lines:,} sentences"
            " \N{EM DASH} a demo, not Billion Word"
        )

    def source_info(self, fingerprint: str | None = None) -> dict:
        info = super().source_info(fingerprint)
        info["module"] = "pydoc_data.topics"
        info["python"] = sys.version.split()[0]
        return info
