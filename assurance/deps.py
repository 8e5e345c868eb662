"""Long-lived collaborators of the assurance services, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from assurance.sealing import PlatformSealer
from consent.service import ConsentDeps
from forms.dossiers import FormsDeps
from identity.toolkit import IdentityToolkit
from notify.service import Notifier
from wallet.service import WalletDeps

if TYPE_CHECKING:
    from assurance.eid import EidClient


@dataclass(frozen=True)
class AssuranceDeps:
    identity: IdentityToolkit
    wallet: WalletDeps
    consent: ConsentDeps
    forms: FormsDeps
    sealer: PlatformSealer
    notifier_of: Callable[[Session], Notifier]
    eid: EidClient | None = None  # None: national e-ID login is off
    eid_name: str = "VNeID"  # how people know the national e-ID provider
