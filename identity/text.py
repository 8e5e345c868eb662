"""Text people type that others read: names and free text, NFC-normalised and refused when it could deceive.

An officer's screen shows what a registrant typed; a right-to-left override, a zero-width joiner or a Cyrillic "е"
in "Nguyеn" would make it show something else than what is stored. So every such text is normalised to NFC (one
encoding for one look) and refused when it carries

- control or format characters (Unicode categories Cc, Cf, Cs, Zl, Zp; Co in names) — which include the zero-width
  characters U+200B..U+200D, U+2060, U+FEFF and the bidi embeddings, overrides and isolates U+202A..U+202E,
  U+2066..U+2069 — except the ordinary spaces: U+0020 everywhere, tab and line feed in free text;
- letters of more than one script (names: in the whole text; free text: within one word). A letter's script is the
  first word of its Unicode name (LATIN, CYRILLIC, GREEK…), so Vietnamese letters with their diacritics are all
  LATIN; Han, Hiragana, Katakana and Hangul count as one (they mix in Japanese and Korean writing); digits,
  punctuation, symbols, spaces and combining marks are neutral. This is the "single script" idea of Unicode
  UTS #39 restricted to what a name or a sentence here needs.

Paper fields keep only the first rule (`kind="field"`): a paper may quote anything, but never invisibly.

This sits in `identity`, the lowest package every user of it (identity, wallet, consent, forms) may import, and it
needs nothing but the standard library.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator

TextKind = Literal["name", "free", "field"]

_ALWAYS_REFUSED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAME_REFUSED = _ALWAYS_REFUSED | {"Co"}
_LINE_SPACES = frozenset("\t\n")
_ONE_SCRIPT = dict.fromkeys(("CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HANGUL", "IDEOGRAPHIC"), "HAN")
_NEUTRAL_NAME_WORDS = frozenset({"MODIFIER"})  # e.g. U+02BC, an apostrophe typed as a letter
_WORD = re.compile(r"\S+")


class TextRefused(ValueError):
    """The text carries a character that could make it read otherwise than it is stored."""


def _allowed_controls(kind: TextKind) -> frozenset[str]:
    return frozenset() if kind == "name" else _LINE_SPACES


def _hidden_problem(text: str, kind: TextKind) -> str | None:
    refused, allowed = (_NAME_REFUSED if kind == "name" else _ALWAYS_REFUSED), _allowed_controls(kind)
    for char in text:
        if char in allowed:
            continue
        if unicodedata.category(char) in refused:
            return f"contains an invisible or control character (U+{ord(char):04X})"
    return None


def script_of(char: str) -> str | None:
    """The script of a letter, or None for a character that belongs to every script (digits, punctuation…)."""
    if not unicodedata.category(char).startswith("L"):
        return None
    word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    if word in _NEUTRAL_NAME_WORDS:
        return None
    return _ONE_SCRIPT.get(word, word)


def _scripts(text: str) -> set[str]:
    return {script for char in text if (script := script_of(char)) is not None}


def _mixing_problem(text: str, kind: TextKind) -> str | None:
    if kind == "field":
        return None
    parts = [text] if kind == "name" else _WORD.findall(text)
    for part in parts:
        scripts = _scripts(part)
        if len(scripts) > 1:
            return f"mixes letters of several scripts ({', '.join(sorted(scripts))})"
    return None


def text_problems(text: str, *, kind: TextKind = "free") -> list[str]:
    """Why `text` (already NFC) may not be shown to others; empty when it may."""
    return [p for p in (_hidden_problem(text, kind), _mixing_problem(text, kind)) if p is not None]


def clean_text(text: str, *, kind: TextKind = "free") -> str:
    """`text` in NFC, or `TextRefused` naming the first reason it may not be shown to others."""
    normalised = unicodedata.normalize("NFC", text)
    if problems := text_problems(normalised, kind=kind):
        raise TextRefused(problems[0])
    return normalised


def _clean_name(text: str) -> str:
    return clean_text(text, kind="name")


def _clean_free(text: str) -> str:
    return clean_text(text, kind="free")


# Pydantic field types: a refusal becomes the field's validation error (422 `validation_failed` naming it).
PersonName = Annotated[str, AfterValidator(_clean_name)]
FreeText = Annotated[str, AfterValidator(_clean_free)]
