"""The composition root: long-lived collaborators built once from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from api.key_custody import ConfigurationError, key_module, provider_factory
from api.settings import Settings
from assurance.deps import AssuranceDeps
from assurance.eid import EidClient, EidConfig
from assurance.sealing import PlatformSealer
from assurance.service import AssuranceService
from audit.models import Presence
from audit.service import AuditService
from consent.service import ConsentDeps, ConsentService
from crypto.citizen_keys import CitizenKeys
from crypto.clock import Clock, SystemClock
from crypto.derive import BlindIndex, derive_key
from crypto.keyring import KeyModule, Keyring, KeyringFile, load_or_create_keyring
from crypto.keys import KeyProvider, LocalKeyProvider
from crypto.passwords import PinHasher
from crypto.tokens import TokenSigner
from forms.agency import dossiers_holding
from forms.catalog import ProcedureCatalog
from forms.dossiers import FormsDeps
from forms.errors import CatalogInvalid
from forms.service import ApplicationService
from identity.qr import ScanRecorder
from identity.qr_cache import QrCache
from identity.schemas import FreshFactor
from identity.service import AuthService
from identity.sessions import Principal
from identity.toolkit import IdentityConfig, IdentityToolkit, Limit
from jobs.work import WorkDeps
from notify.dispatcher import OutboxDispatcher
from notify.senders import BothSenders, DevOutboxFileSender, InAppSender, Sender, SmsGatewaySender, SmtpSender
from notify.service import Notifier
from storage.blobs import BlobStore, BlobStoreError, blob_store_from_url
from storage.db import create_db_engine, read_only, transaction
from storage.group_commit import GroupCommit
from storage.keystore import SqlCitizenKeyStore
from storage.throttle import DatabaseThrottle
from wallet.catalog import Holder
from wallet.issuer import IssuingDeps
from wallet.service import MIB, WalletConfig, WalletDeps, WalletService

log = structlog.get_logger("api.container")


class ReloadingKeyProvider:
    """The KeyProvider of the current keyring (the file's or the token's), rebuilt when the keyring file changes."""

    def __init__(self, keyring: KeyringFile, make: Callable[[Keyring], KeyProvider] = LocalKeyProvider) -> None:
        self._keyring = keyring
        self._make = make
        self._ring = keyring()
        self._provider = make(self._ring)

    def _current(self) -> KeyProvider:
        ring = self._keyring()
        if ring is not self._ring:
            self._ring, self._provider = ring, self._make(ring)
        return self._provider

    def wrap(self, key: bytes, *, context: Any) -> bytes:
        return self._current().wrap(key, context=context)

    def unwrap(self, wrapped: bytes, *, context: Any) -> bytes:
        return self._current().unwrap(wrapped, context=context)

    def rewrap(self, wrapped: bytes, *, context: Any) -> bytes:
        return self._current().rewrap(wrapped, context=context)

    def kid_of(self, wrapped: bytes) -> str:
        return self._current().kid_of(wrapped)

    @property
    def current_kid(self) -> str:
        return self._current().current_kid


def load_keys(settings: Settings, clock: Clock, module: KeyModule | None = None) -> KeyringFile:
    path = settings.resolved_keyring_file
    if settings.env == "prod":
        if not path.exists():
            raise ConfigurationError(f"WALLET_ENV=prod needs a keyring at {path} (WALLET_KEYRING_FILE)")
    else:
        _ring, created = load_or_create_keyring(path, now=clock.now(), module=module)
        if created:
            log.warning("development_keys_generated", path=str(path), note="DEVELOPMENT KEYS: never use in production")
    keyring = KeyringFile(path, module=module)
    if keyring().development:
        if settings.env == "prod":
            raise ConfigurationError("WALLET_ENV=prod refuses development keys; provision a production keyring")
        log.warning("development_keys_in_use", path=str(path))
    return keyring


def load_catalog(settings: Settings) -> ProcedureCatalog:
    """The procedures: the shipped catalog, or the file WALLET_PROCEDURES_FILE names (checked whole at start)."""
    try:
        if settings.procedures_file is None:
            return ProcedureCatalog.shipped()
        return ProcedureCatalog.load(settings.procedures_file)
    except CatalogInvalid as exc:
        raise ConfigurationError(f"the procedure catalog is invalid: {exc}") from exc


def build_senders(settings: Settings, clock: Clock, http: httpx.AsyncClient) -> dict[str, Sender]:
    if settings.env == "dev":
        dev = DevOutboxFileSender(settings.outbox_file, clock)
        # A gateway set in development (a test gateway counting deliveries) gets the SMS too, the file still its copy.
        sms: Sender = dev
        if settings.sms_gateway_url:
            sms = BothSenders(SmsGatewaySender(settings.sms_gateway_url, settings.sms_gateway_token or "", http), dev)
        return {"sms": sms, "email": dev, "in_app": dev}
    if not settings.sms_gateway_url or not settings.smtp_host:
        raise ConfigurationError("WALLET_ENV=prod refuses the outbox file sender: set the SMS gateway and SMTP")
    return {
        "sms": SmsGatewaySender(settings.sms_gateway_url, settings.sms_gateway_token or "", http),
        "email": SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
        ),
        "in_app": InAppSender(),
    }


def wallet_config(settings: Settings) -> WalletConfig:
    return WalletConfig(
        max_file_bytes=settings.max_file_mb * MIB,
        quota_bytes=settings.quota_mb * MIB,
        max_documents=settings.max_documents,
    )


def identity_config(settings: Settings) -> IdentityConfig:
    minute = timedelta(minutes=1)
    return IdentityConfig(
        issuer=settings.resolved_public_url,
        register_per_ip=Limit(settings.register_per_ip_per_minute, minute),
        register_sms_per_ip=Limit(settings.register_sms_per_ip_per_hour, timedelta(hours=1)),
        login_per_ip=Limit(settings.login_per_ip_per_minute, minute),
    )


T = TypeVar("T")


@dataclass
class Container:
    settings: Settings
    clock: Clock
    engine: Engine
    throttle_engine: Engine
    keystore_engine: Engine
    keyring: KeyringFile
    keys: KeyProvider
    citizen_keys: CitizenKeys
    identity: IdentityToolkit
    blobs: BlobStore
    dispatcher: OutboxDispatcher
    outbox_key: bytes = field(repr=False)
    http: httpx.AsyncClient
    wallet_config: WalletConfig
    catalog: ProcedureCatalog
    eid: EidClient | None = None
    scans: GroupCommit = field(init=False)
    # The last QR code `GET /me/qr` gave each citizen, handed out again for a short while (`identity.qr_cache`).
    qr_cache: QrCache = field(init=False, default_factory=QrCache)
    # Dependencies holding keys derived from the keyring, made once per keyring (HKDF per request cost more than the
    # query it served); a rotation loads a new keyring, and they are made again from it.
    _per_keyring: dict[str, tuple[object, Any]] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # A connection of its own: the scans waiting for their batch each hold their unit's connection, so a batch
        # drawing on the same pool could find it empty and wait for them, as they wait for it.
        self.scans = GroupCommit(create_db_engine(self.settings.resolved_database_url, pool_size=1))

    def scan_recorder(self) -> ScanRecorder:
        """A counter scan's presence record and access-log entry, written in a short transaction of their own,
        batched with other counters' scans (`api.unit.OWN_TRANSACTIONS`)."""

        def record(write: Callable[[AuditService], Presence]) -> Presence:
            return self.scans.run(lambda session: write(AuditService(session, self.clock)))

        return record

    async def record_scan(self, write: Callable[[AuditService], Presence]) -> Presence:
        """`scan_recorder`'s writes awaited from the event loop, without a worker thread per waiting scan."""
        return await self.scans.run_async(lambda session: write(AuditService(session, self.clock)))

    @property
    def wallet(self) -> WalletDeps:
        verify_url = f"{self.settings.resolved_public_url}/api/v1/verify/documents"
        return WalletDeps(
            self.engine,
            self.citizen_keys,
            self.blobs,
            self.clock,
            self.wallet_config,
            verify_url,
            holds=dossiers_holding,
        )

    @property
    def work(self) -> WorkDeps:
        """What the periodic upkeep needs, in-process or in the background worker (`jobs.work`)."""
        return WorkDeps(self.engine, self.dispatcher, self.wallet, self.clock, self.keyring)

    def _keyed(self, name: str, make: Callable[[Keyring], T]) -> T:
        ring = self.keyring()
        made = self._per_keyring.get(name)
        if made is None or made[0] is not ring:
            made = self._per_keyring[name] = (ring, make(ring))
        value: T = made[1]
        return value

    @property
    def issuing(self) -> IssuingDeps:
        return self._keyed(
            "issuing",
            lambda ring: IssuingDeps(
                self.identity.tokens,
                BlindIndex(ring.index_key, "requester"),
                self.identity.national_id_index,
                self.holder_of,
                on_held=self._paper_held,
                dispatch=self.dispatcher.dispatch,
            ),
        )

    @property
    def consent(self) -> ConsentDeps:
        return ConsentDeps(self.wallet, self.identity, max_pending_requests=self.settings.max_pending_consents)

    @property
    def assurance(self) -> AssuranceDeps:
        def make(ring: Keyring) -> AssuranceDeps:
            sealer = PlatformSealer(derive_key(ring.index_key, "assurance"))
            name = self.settings.eid_display_name
            return AssuranceDeps(
                self.identity, self.wallet, self.consent, self.forms, sealer, self.notifier, self.eid, eid_name=name
            )

        return self._keyed("assurance", make)

    def _paper_held(self, session: Session, citizen_id: str) -> list[str]:
        notifier = self.notifier(session)
        AssuranceService(session, self.assurance, notifier).tell_paper_held(citizen_id)
        return list(notifier.queued_ids)

    @property
    def forms(self) -> FormsDeps:
        return FormsDeps(self.catalog, self.wallet, self.issuing, self.identity, max_drafts=self.settings.max_drafts)

    def holder_of(self, citizen_id: str) -> Holder:
        """The citizen's identity as the wallet's validation needs it (their own CCCD must match)."""
        with transaction(read_only(self.engine)) as session:
            profile = AuthService(session, self.identity, self.notifier(session)).citizen_profile(citizen_id)
        return Holder(profile.national_id, profile.date_of_birth, profile.sex, profile.full_name)

    def erase_citizen(self, principal: Principal, factor: FreshFactor) -> list[str]:
        """Check the fresh factor, delete every record, then destroy the citizen's key; returns the
        blob keys to delete (ciphertext already unreadable without the key)."""
        with transaction(self.engine) as session:
            AuthService(session, self.identity, self.notifier(session)).prove_fresh_factor(
                principal, factor.code, factor.challenge_id
            )
        with transaction(self.engine) as session:
            blob_keys = WalletService(session, self.wallet).erase_all(principal.subject_id)
            ConsentService(session, self.consent).withdraw_all(principal.subject_id)
            ApplicationService(session, self.forms, self.notifier(session)).erase_all(principal.subject_id)
            AuthService(session, self.identity, self.notifier(session)).erase_citizen(principal.subject_id)
        self.citizen_keys.destroy(principal.subject_id)
        self.qr_cache.forget(principal.subject_id)
        return blob_keys

    async def delete_blobs(self, blob_keys: list[str]) -> None:
        """Best effort after a commit: whatever fails here, the janitor collects later."""
        for key in blob_keys:
            try:
                await self.blobs.delete(key)
            except BlobStoreError as exc:  # the key names opaque ids only
                log.warning("blob_delete_deferred", blob_key=key, error=type(exc).__name__)

    def notifier(self, session: Session) -> Notifier:
        return Notifier(session, key=self.outbox_key, clock=self.clock)

    async def aclose(self) -> None:
        await self.http.aclose()
        self.engine.dispose()
        self.throttle_engine.dispose()
        self.keystore_engine.dispose()
        self.scans.engine.dispose()


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    module = key_module(settings)
    keyring = load_keys(settings, clock, module)
    keys = ReloadingKeyProvider(keyring, provider_factory(module))
    engine = create_db_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)
    throttle_url = settings.resolved_throttle_url
    throttle_engine = engine if throttle_url == settings.resolved_database_url else create_db_engine(throttle_url)
    pins = PinHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib)
    signer = TokenSigner(keyring, issuer=settings.resolved_public_url, clock=clock)
    keystore_engine = create_db_engine(settings.resolved_keystore_url, pool_size=5)
    citizen_keys = CitizenKeys(keys, SqlCitizenKeyStore(keystore_engine))
    throttle = DatabaseThrottle(throttle_engine)
    toolkit = IdentityToolkit(identity_config(settings), clock, keys, keyring, signer, pins, throttle, citizen_keys)
    http = httpx.AsyncClient(timeout=10)
    outbox_key = derive_key(keyring().index_key, "outbox")
    dispatcher = OutboxDispatcher(engine, build_senders(settings, clock, http), key=outbox_key, clock=clock)
    blobs = blob_store_from_url(
        settings.resolved_storage_url,
        access_key=settings.s3_access_key.get_secret_value() if settings.s3_access_key else None,
        secret_key=settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None,
    )
    return Container(
        settings=settings,
        clock=clock,
        engine=engine,
        throttle_engine=throttle_engine,
        keystore_engine=keystore_engine,
        keyring=keyring,
        keys=keys,
        citizen_keys=citizen_keys,
        identity=toolkit,
        blobs=blobs,
        dispatcher=dispatcher,
        outbox_key=outbox_key,
        http=http,
        wallet_config=wallet_config(settings),
        catalog=load_catalog(settings),
        eid=eid_client(settings),
    )


def eid_client(settings: Settings) -> EidClient | None:
    """The national e-ID relying party, or None (off) while WALLET_EID_ISSUER is unset."""
    if not settings.eid_issuer:
        return None
    if not settings.eid_client_id or settings.eid_client_secret is None:
        raise ConfigurationError("WALLET_EID_ISSUER needs WALLET_EID_CLIENT_ID and WALLET_EID_CLIENT_SECRET")
    return EidClient(
        EidConfig(
            issuer=settings.eid_issuer,
            client_id=settings.eid_client_id,
            client_secret=settings.eid_client_secret.get_secret_value(),
            redirect_uri=f"{settings.resolved_public_url}/api/v1/auth/eid/callback",
            scopes=settings.eid_scopes,
            id_claim=settings.eid_id_claim,
            level_claim=settings.eid_level_claim,
            level_two_values=frozenset(settings.eid_level2_values),
            name_claim=settings.eid_name_claim,
            birthdate_claim=settings.eid_birthdate_claim,
            phone_claim=settings.eid_phone_claim,
            display_name=settings.eid_display_name,
        )
    )
