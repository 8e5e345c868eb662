"""Names and free text: NFC, and refused when they hide characters or mix scripts."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.text import TextRefused, clean_text, script_of

FORBIDDEN = [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, 0x00AD]
VIETNAMESE_NAMES = [
    "Nguyễn Thị Ánh Tuyết",
    "Trần Văn Đức",
    "Lê Hoàng Phương Ngọc",
    "Phạm Thị Thu Hường",
    "Đặng Quốc Bảo",
    "H'Hen Niê",
    "Võ Nguyễn Hoài Thương",
]
vietnamese_letters = st.sampled_from(
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
)
vietnamese_words = st.text(vietnamese_letters, min_size=1, max_size=8).map(str.capitalize)
vietnamese_names = st.lists(vietnamese_words, min_size=1, max_size=5).map(" ".join)
kinds = st.sampled_from(["name", "free", "field"])


class TestAccepts:
    @pytest.mark.parametrize("name", VIETNAMESE_NAMES)
    def test_ordinary_vietnamese_names(self, name: str) -> None:
        assert clean_text(name, kind="name") == name

    @given(vietnamese_names)
    def test_any_name_of_vietnamese_letters(self, name: str) -> None:
        assert clean_text(name, kind="name") == unicodedata.normalize("NFC", name)

    def test_decomposed_input_comes_back_composed(self) -> None:
        decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")
        assert decomposed != "Nguyễn Thị Ánh Tuyết"
        assert clean_text(decomposed, kind="name") == "Nguyễn Thị Ánh Tuyết"

    def test_digits_and_punctuation_are_neutral(self) -> None:
        assert clean_text("Số 12/3, đường Lê Lợi — (Q.1)", kind="free")

    def test_free_text_keeps_its_line_breaks_and_other_scripts_in_their_own_words(self) -> None:
        assert clean_text("Cần gấp.\nXin cảm ơn\tα β", kind="free")

    def test_japanese_mixes_han_and_kana(self) -> None:
        assert clean_text("山田たろう", kind="name") == "山田たろう"


class TestRefuses:
    @given(st.sampled_from(FORBIDDEN + CONTROLS), kinds, vietnamese_names, st.integers(min_value=0))
    def test_every_hidden_or_control_code_point(self, code: int, kind: str, name: str, at: int) -> None:
        if kind != "name" and chr(code) in "\t\n\r":
            return  # ordinary spaces of free text
        position = at % (len(name) + 1)
        with pytest.raises(TextRefused):
            clean_text(name[:position] + chr(code) + name[position:], kind=kind)  # type: ignore[arg-type]

    def test_a_right_to_left_override_in_a_name(self) -> None:
        with pytest.raises(TextRefused, match="U\\+202E"):
            clean_text("Nguyễn\u202eVăn A", kind="name")

    @pytest.mark.parametrize(
        "name",
        ["Nguyеn Văn A", "Trần Văn Đức Иван", "Nguyễn Tοàn"],  # Cyrillic е; Cyrillic word; Greek ο
    )
    def test_names_mixing_scripts(self, name: str) -> None:
        with pytest.raises(TextRefused, match="scripts"):
            clean_text(name, kind="name")

    def test_a_word_of_free_text_mixing_scripts(self) -> None:
        with pytest.raises(TextRefused):
            clean_text("Hồ sơ của Nguyеn", kind="free")

    def test_paper_fields_may_mix_scripts_but_not_hide(self) -> None:
        assert clean_text("Москва / Moscow", kind="field")
        with pytest.raises(TextRefused):
            clean_text("Moscow\u200b", kind="field")


class TestNormalForm:
    @given(st.text(), kinds)
    def test_idempotent(self, text: str, kind: str) -> None:
        try:
            once = clean_text(text, kind=kind)  # type: ignore[arg-type]
        except TextRefused:
            return
        assert clean_text(once, kind=kind) == once  # type: ignore[arg-type]
        assert unicodedata.is_normalized("NFC", once)

    def test_script_of_a_vietnamese_letter_is_latin(self) -> None:
        assert {script_of(c) for c in "ễđƯ"} == {"LATIN"}
        assert script_of("7") is None and script_of("-") is None
