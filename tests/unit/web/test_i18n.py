"""The pages' translations: every string of the code and templates has its Vietnamese, and the language chosen for
one request never leaks into another running at the same time."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from babel.messages.pofile import read_po

from web import i18n
from web.i18n_extract import extract
from web.templating import environment


def test_every_string_has_its_vietnamese() -> None:
    translated: dict[str, str] = {}
    for po in (i18n.LOCALES_DIR / "vi" / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as handle:
            translated |= {str(m.id): str(m.string) for m in read_po(handle) if m.id and m.string and not m.fuzzy}
    missing = sorted({str(m.id) for catalog in extract().values() for m in catalog if m.id} - set(translated))
    assert missing == [], f"{len(missing)} strings lack their Vietnamese (make i18n, then translate): {missing[:10]}"


def test_a_string_reads_the_same_in_every_area() -> None:
    """The areas' catalogs are merged into one: a message translated two ways would show the last area's wording on
    every page (a registration error once spoke the recovery page's words)."""
    seen: dict[str, tuple[str, str]] = {}
    clashes: list[str] = []
    for po in sorted((i18n.LOCALES_DIR / "vi" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle):
                if not message.id or not message.string:
                    continue
                key, text = str(message.id), str(message.string)
                first = seen.setdefault(key, (po.stem, text))
                if first[1] != text:
                    clashes.append(f"{key!r}: {first[0]} says {first[1]!r}, {po.stem} says {text!r}")
    assert clashes == []


def test_a_request_in_english_beside_one_in_vietnamese() -> None:
    template = environment().from_string("{{ _('Sign in') }} {{ lang() }}")

    async def render(locale: i18n.Locale) -> str:
        i18n.activate(locale)
        await asyncio.sleep(0)  # let the other requests run in between
        return template.render()

    async def interleaved() -> list[str]:
        # Each task runs in its own context, as each ASGI request does.
        return await asyncio.gather(*(render("vi" if n % 2 else "en") for n in range(40)))

    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever loop the test process already runs
        results = pool.submit(asyncio.run, interleaved()).result()
    assert results == ["Sign in en" if n % 2 == 0 else "Đăng nhập vi" for n in range(40)]


def test_threads_keep_their_own_language() -> None:
    def render(locale: i18n.Locale) -> str:
        with i18n.using(locale):
            return i18n.gettext("Sign out")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(render, ["vi", "en"] * 20))
    assert answers == ["Đăng xuất", "Sign out"] * 20


def test_the_language_of_a_request() -> None:
    assert i18n.negotiate("en", "vi") == "en"
    assert i18n.negotiate(None, "en") == "en"
    assert i18n.negotiate("fr", None) == "vi"
