"""Extraction of the pages' strings into one catalog per area of the app (`web/locales/vi/LC_MESSAGES/<area>.po`):
an area is a folder of `web/templates/` with the controller module of the same name; everything else (the layout,
components, shared Python) is `base`. Existing translations are kept; new strings arrive untranslated, obsolete ones
are dropped. Run by `make i18n`; a test fails while any string lacks its Vietnamese."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from web.i18n import LOCALES_DIR

WEB = Path(__file__).parent
TEMPLATES = WEB / "templates"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
_JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}


def area_of(path: Path) -> str:
    """`papers` for templates/papers/ and controllers/papers.py; `officer_scan` for templates/officer/scan/ and
    officer/controllers/scan.py; `officer` for the rest of the staff pages; `base` for everything else."""
    parts = path.relative_to(WEB).parts
    shared = ("components", "errors")
    if parts[:2] == ("templates", "officer") or parts[0] == "officer":
        sub = parts[2] if parts[0] == "templates" and len(parts) > 3 else None
        if parts[0] == "officer" and len(parts) == 3 and parts[1] == "controllers" and path.stem != "__init__":
            sub = path.stem
        return f"officer_{sub}" if sub else "officer"
    if parts[0] == "templates" and len(parts) > 2 and parts[1] not in shared:
        return parts[1]
    if parts[0] == "controllers" and path.stem != "__init__":
        return path.stem
    return "base"


def _sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(WEB.rglob("*.py")):
        if "locales" not in path.parts:
            yield path, "python"
    for path in sorted(TEMPLATES.rglob("*.html")):
        yield path, "jinja2"


def extract() -> dict[str, Catalog]:
    catalogs: dict[str, Catalog] = defaultdict(lambda: Catalog(locale="vi", project="congdanso", charset="utf-8"))
    for path, method in _sources():
        method_name = "jinja2.ext:babel_extract" if method == "jinja2" else "python"
        options = _JINJA_OPTIONS if method == "jinja2" else {}
        for line, message, comments, context in extract_from_file(method_name, str(path), KEYWORDS, options=options):
            where = str(path.relative_to(WEB.parent))
            catalogs[area_of(path)].add(message, locations=[(where, line)], auto_comments=comments, context=context)
    return dict(catalogs)


def extract_all(only: str | None = None) -> list[tuple[Path, int]]:
    """Update every area's Vietnamese catalog (or only the area named) from the sources; returns each file and its
    untranslated count. Naming the area leaves the other areas' files alone (people may be editing them)."""
    results = []
    target_dir = LOCALES_DIR / "vi" / "LC_MESSAGES"
    target_dir.mkdir(parents=True, exist_ok=True)
    for area, template in sorted(extract().items()):
        if only is not None and area != only:
            continue
        path = target_dir / f"{area}.po"
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale="vi")
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
        else:
            catalog = Catalog(locale="vi", project="congdanso", charset="utf-8")
            catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=120, omit_header=False, sort_output=False)
        results.append((path, sum(1 for m in catalog if m.id and not m.string)))
    return results
