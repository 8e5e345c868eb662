"""Fill Vietnamese translations into the pages' catalogs from a table (`{english: vietnamese}` in a Python file
defining `T`): `.venv/bin/python scripts/translate.py table.py [area]` (one area's catalog, or all). Strings already
translated keep theirs unless the table gives a new one; anything the table lacks is reported. Then
`python -m web.i18n compile`."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGS = Path(__file__).resolve().parent.parent / "web" / "locales" / "vi" / "LC_MESSAGES"


def main(table_file: str, area: str | None = None) -> None:
    table: dict[str, str] = runpy.run_path(table_file)["T"]
    for path in sorted(CATALOGS.glob(f"{area or '*'}.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="vi")
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.id in table:
                message.string = table[message.id]
        with path.open("wb") as handle:
            write_po(handle, catalog, width=120, sort_output=False)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{path.name}: {len(missing)} untranslated")
        for message_id in missing:
            print(f"  {message_id!r}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
