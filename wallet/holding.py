"""Papers held for an account below identity level 2, and the papers of an account closed as an impostor's.

An issuer's paper for a level-1 account is stored sealed like any other but flagged held: no read of the
wallet returns it (`WalletRepository`), so whoever registered the ID number never sees it. It appears the
moment the account reaches level 2. When a level-2 proofing shows that the level-1 account was held by someone
else, that person's own papers are deleted and crypto-shredded (the citizen key is replaced; only the held
papers' data keys are re-wrapped under the new key), and the held papers stay for the true holder."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crypto.envelope import CitizenKey
from wallet.repository import WalletRepository
from wallet.service import WalletDeps


@dataclass(frozen=True)
class ClosedPapers:
    blob_keys: list[str]  # for the caller to delete after its commit (the janitor catches any it misses)
    deleted: int
    kept_held: int


class HeldPapers:
    """Counts, releases and preserves held papers. Flushes, never commits."""

    def __init__(self, session: Session, deps: WalletDeps) -> None:
        self._repo = WalletRepository(session)
        self._deps = deps

    def count(self, citizen_id: str) -> int:
        return self._repo.held_count(citizen_id)

    def release(self, citizen_id: str) -> list[str]:
        """The account reached level 2: every held paper joins the wallet. Returns their ids."""
        released = []
        for document in self._repo.held_of(citizen_id):
            document.held_at = None
            self._repo.add(document)
            released.append(document.id)
        return released

    def close_impostor_papers(self, citizen_id: str, old_key: CitizenKey, new_key: CitizenKey) -> ClosedPapers:
        """Delete every paper the level-1 holder stored (or was shown) and re-wrap the held papers' data keys
        under `new_key`, the citizen key that replaces `old_key` once the caller commits (see
        `CitizenKeys.begin_replacement`): the deleted papers are then unreadable in any backup too."""
        blob_keys: list[str] = []
        deleted = kept = 0
        for document in self._repo.documents_of(citizen_id):
            if document.held_at is None:
                blob_keys += self._repo.delete_document(document)
                deleted += 1
                continue
            for version in self._repo.versions(document.id):
                data_key = old_key.unwrap_data_key(
                    version.wrapped_data_key, document=document.id, version=version.version
                )
                version.wrapped_data_key = new_key.wrap_data_key(
                    data_key, document=document.id, version=version.version
                )
                self._repo.add(version)
            kept += 1
        return ClosedPapers(blob_keys, deleted, kept)
