"""Flesch–Kincaid grade level (Kincaid et al., 1975), implemented here: 0.39·words/sentences + 11.8·syllables/words
− 15.59. Syllables are counted by the usual vowel-group rule (silent final e, -le, -ed, -es)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_VOWELS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    w = word.lower().strip("'’-")
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    parts = [p for p in re.split(r"-", w) if p]
    if len(parts) > 1:
        return sum(syllables(p) for p in parts)
    count = len(_VOWELS.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1  # silent e: "made", "rule"
    elif w.endswith(("ed", "es")) and not w.endswith(("ted", "ded", "ses", "zes", "ces", "ges", "xes")) and count > 1:
        count -= 1  # "asked", "rules"
    return max(count, 1)


@dataclass(frozen=True)
class Readability:
    words: int
    sentences: int
    syllables: int

    @property
    def grade(self) -> float:
        if not self.words:
            return 0.0
        return 0.39 * self.words / self.sentences + 11.8 * self.syllables / self.words - 15.59


def measure(texts: Iterable[str]) -> Readability:
    words = sentences = syl = 0
    for text in texts:
        ws = _WORD.findall(text)
        if not ws:
            continue
        words += len(ws)
        syl += sum(syllables(w) for w in ws)
        sentences += max(1, len(_SENTENCE_END.findall(text.strip())))
    return Readability(words, max(sentences, 1), syl)
