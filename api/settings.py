"""Typed settings from the environment (prefix WALLET_), loaded once and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# A file in the data folder, written by whoever set that folder up (`python -m stack up`), so that every command run
# with the same WALLET_DATA_DIR acts on the same databases, blob store and keys.
DATA_DIR_SETTINGS = "settings.env"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WALLET_", extra="ignore")

    env: Literal["dev", "prod"] = "dev"
    data_dir: Path = Path("./data")
    database_url: str | None = Field(default=None, description="default: SQLite in the data dir")
    throttle_url: str | None = Field(
        default=None,
        description="database of the throttle counters; default: the main database, or on SQLite a "
        "separate throttle.db beside it (SQLite locks the whole file, and counters commit on their own)",
    )
    direct_database_url: str | None = Field(
        default=None,
        description="the main database without a pooler in between: for `congdanso backup`/`restore` (pg_dump and "
        "pg_restore set session options PgBouncer in transaction mode would leak) and for the job worker's queue "
        "(LISTEN/NOTIFY does not pass PgBouncer in transaction mode); default: the database URL",
    )
    storage_url: str | None = Field(default=None, description="default: file://<data dir>/blobs")
    keystore_url: str | None = Field(
        default=None,
        description="database of the wrapped citizen keys, kept apart from the main database so its backups "
        "hold no keys; default: SQLite at <data dir>/keys/citizen_keys.db",
    )
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    public_url: str | None = Field(default=None, description="base URL printed in verification links")
    keyring_file: Path | None = Field(default=None, description="default: <data dir>/keys/keyring.json")
    # Where the master and signing keys live: the keyring file, or a PKCS#11 token (an HSM) that generates and holds
    # them; the keyring file then keeps only their metadata and the blind-index key (docs/operations/keys.md).
    key_provider: Literal["local", "pkcs11"] = "local"
    pkcs11_module: Path | None = Field(default=None, description="the HSM's PKCS#11 library (.so)")
    pkcs11_token_label: str | None = Field(default=None, description="the label of the token holding the keys")
    pkcs11_pin: SecretStr | None = Field(default=None, description="the token's user PIN (or WALLET_PKCS11_PIN_FILE)")
    pkcs11_pin_file: Path | None = Field(default=None, description="a file whose first line is the user PIN")
    max_file_mb: int = Field(default=20, ge=1, le=1024)
    quota_mb: int = Field(default=1024, ge=1, description="per-citizen storage quota")
    max_json_kb: int = Field(default=256, ge=1)
    max_json_depth: int = Field(
        default=32, ge=2, le=256, description="nesting of arrays and objects in a JSON body; deeper is refused (400)"
    )
    # Resource limits: every bound answers 4xx problem+json before more is read.
    max_header_kb: int = Field(default=16, ge=1, le=1024, description="request line and headers, in total")
    max_headers: int = Field(default=100, ge=8, le=1000, description="header fields in one request")
    max_part_header_kb: int = Field(default=8, ge=1, le=64, description="headers of one multipart part")
    max_parts: int = Field(default=64, ge=2, le=1000, description="parts in one multipart body")
    max_text_part_kb: int = Field(default=64, ge=1, le=1024, description="one text part (e.g. `fields`)")
    max_documents: int = Field(default=2000, ge=1, description="papers one citizen may hold")
    max_drafts: int = Field(default=20, ge=1, description="applications one citizen may hold in draft")
    max_pending_consents: int = Field(default=50, ge=1, description="pending consent requests to one citizen")
    # Each request holds one connection for its unit of work; a worker runs at most 40 of them at once (anyio's
    # default thread limit), so 20 kept open (and 20 more opened under bursts) serves it without reconnecting.
    db_pool_size: int = Field(default=20, ge=1, le=200, description="database connections a worker keeps open")
    metrics_host: str = Field(default="127.0.0.1", description="listener of /metrics, apart from the API")
    metrics_port: int | None = Field(default=None, ge=1, le=65535, description="unset: no metrics listener")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated exact origins allowed to call the API from a browser"
    )
    procedures_file: Path | None = Field(
        default=None, description="a YAML catalog of procedures replacing the shipped one (forms/procedures.yaml)"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True
    trusted_proxies: list[str] = Field(default_factory=list, description="peers whose X-Forwarded-For is believed")
    # Argon2id cost of PINs: the defaults are the policy; tests may lower them.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    register_per_ip_per_minute: int = Field(default=20, ge=1)
    register_sms_per_ip_per_hour: int = Field(
        default=30, ge=1, description="registration SMS (codes and notices) one client address may cause per hour"
    )
    login_per_ip_per_minute: int = Field(default=30, ge=1)
    gc_interval_seconds: float = Field(default=3600, gt=0, description="how often the janitor runs")
    outbox_interval_seconds: float = Field(default=2.0, gt=0)
    audit_checkpoint_seconds: float = Field(
        default=300, gt=0, description="how often a signed checkpoint of the access log's hash chain is made"
    )
    # Who runs the periodic work (outbox retries, janitor, audit chain and checkpoints): each app worker in-process
    # (`inline`, the embedded default), or one `congdanso jobs worker` on PostgreSQL's job queue (`external`).
    background: Literal["inline", "external"] = "inline"
    jobs_retry_attempts: int = Field(default=5, ge=1, le=50, description="runs of a failing job before it is parked")
    jobs_retry_seconds: float = Field(default=10, gt=0, description="wait before the first retry; doubles each time")
    sms_gateway_url: str | None = None
    sms_gateway_token: SecretStr | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "Công Dân Số <no-reply@congdanso.local>"
    smtp_starttls: bool = True
    # National e-ID login (VNeID-style OpenID Connect); off while the issuer is unset.
    eid_issuer: str | None = Field(default=None, description="the provider's issuer URL (discovery at its .well-known)")
    eid_client_id: str | None = None
    eid_client_secret: SecretStr | None = None
    eid_scopes: str = "openid profile phone vneid"
    eid_id_claim: str = Field(default="personal_id", description="claim carrying the 12-digit personal ID number")
    eid_level_claim: str = Field(default="identity_level", description="claim carrying the e-ID account's level")
    eid_level2_values: list[str] = Field(default_factory=lambda: ["2"], description="level-claim values meaning 2")
    eid_name_claim: str = "name"
    eid_birthdate_claim: str = "birthdate"
    eid_phone_claim: str = "phone_number"
    eid_display_name: str = Field(default="VNeID", description="how citizens know the provider")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then `<data dir>/settings.env` (if there is one), then the defaults."""
        given = init_settings.init_kwargs if isinstance(init_settings, InitSettingsSource) else {}
        data_dir = Path(
            given.get("data_dir") or os.environ.get("WALLET_DATA_DIR") or cls.model_fields["data_dir"].default
        )
        in_data_dir = DotEnvSettingsSource(settings_cls, env_file=data_dir / DATA_DIR_SETTINGS)
        return init_settings, env_settings, in_data_dir, file_secret_settings

    @model_validator(mode="after")
    def _external_needs_postgres(self) -> Settings:
        if self.background == "external" and self.resolved_direct_database_url.startswith("sqlite"):
            raise ValueError("WALLET_BACKGROUND=external needs PostgreSQL (the job queue lives there)")
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'wallet.db').resolve()}"

    @property
    def resolved_throttle_url(self) -> str:
        if self.throttle_url:
            return self.throttle_url
        if self.resolved_database_url.startswith("sqlite"):
            return f"sqlite:///{(self.data_dir / 'throttle.db').resolve()}"
        return self.resolved_database_url

    @property
    def resolved_keystore_url(self) -> str:
        return self.keystore_url or f"sqlite:///{(self.data_dir / 'keys' / 'citizen_keys.db').resolve()}"

    @property
    def resolved_direct_database_url(self) -> str:
        return self.direct_database_url or self.resolved_database_url

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    @property
    def resolved_keyring_file(self) -> Path:
        return self.keyring_file or self.data_dir / "keys" / "keyring.json"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def outbox_file(self) -> Path:
        return self.data_dir / "outbox.jsonl"
