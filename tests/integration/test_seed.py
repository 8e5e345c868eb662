"""`congdanso seed`: seeded citizens are real to the service (they sign in with the seed PIN and the OTP, read their
profile and their papers through the API, every byte opened through their own keys), a second seed extends the
first, a seed that collides leaves nothing behind, and production refuses it."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from api.cli import main
from api.cli_seed import run_seed
from api.settings import Settings
from forms.models import Application
from identity.models import Citizen
from seed.people import papers, profile
from seed.service import SEED_PIN
from seed.write import settle
from storage.db import create_db_engine
from storage.keystore import citizen_keys
from tests.factories import last_code
from tests.integration.conftest import Wallet
from wallet.catalog import validate_fields

PAPERS = 3


def _seed(
    settings: Settings,
    citizens: int,
    start: int | None = None,
    papers: int = PAPERS,
    processes: int = 1,
    *,
    dossiers: int = 0,
) -> int:
    args = argparse.Namespace(
        citizens=citizens,
        papers_per_citizen=papers,
        dossiers_per_citizen=dossiers,
        start=start,
        processes=processes,
        json=True,
    )
    return run_seed(settings, args)


def _counts(settings: Settings) -> tuple[int, int]:
    """(citizens, citizen keys)."""
    counted = []
    for url, table in ((settings.resolved_database_url, Citizen.__table__), (settings.resolved_keystore_url, None)):
        engine = create_db_engine(url, pool_size=1)
        with engine.connect() as connection:
            source: Any = table if table is not None else citizen_keys
            counted.append(int(connection.execute(sa.select(sa.func.count()).select_from(source)).scalar_one()))
        engine.dispose()
    return counted[0], counted[1]


def _sign_in(wallet: Wallet, n: int) -> str:
    holder = profile(n)
    challenge = wallet.login(holder.national_id, SEED_PIN)
    code = last_code(wallet.outbox, to=holder.phone)
    answer = wallet.post("/auth/otp/verify", {"challenge_id": challenge["challenge_id"], "code": code})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_a_seeded_citizen_signs_in_and_reads_their_papers(wallet: Wallet, capsys: pytest.CaptureFixture[str]) -> None:
    assert _seed(wallet.settings, 12) == 0
    assert '"citizens": 12' in capsys.readouterr().out
    token = _sign_in(wallet, 5)
    me = wallet.get("/me", token)
    assert me.status_code == 200, me.text
    assert me.json()["full_name"] == profile(5).full_name
    listed = wallet.get("/documents", token).json()["items"]
    expected = {kind: validate_fields(kind, fields) for kind, fields in papers(profile(5), 5, PAPERS)}
    assert sorted(item["type"] for item in listed) == sorted(expected)
    for item in listed:
        paper = wallet.get(f"/documents/{item['id']}", token)
        assert paper.status_code == 200, paper.text
        assert paper.json()["fields"] == expected[item["type"]]


def test_a_second_seed_extends_the_first_and_a_collision_leaves_nothing(wallet: Wallet) -> None:
    assert _seed(wallet.settings, 4) == 0
    assert _seed(wallet.settings, 3) == 0  # numbers 4 to 6
    assert _counts(wallet.settings) == (7, 7)
    _sign_in(wallet, 6)
    assert _seed(wallet.settings, 2, start=5) == 2  # numbers 5 and 6 exist
    assert _counts(wallet.settings) == (7, 7)


def test_two_processes_seed_one_run_of_numbers(wallet: Wallet, capsys: pytest.CaptureFixture[str]) -> None:
    """On PostgreSQL two processes each seed a part (on SQLite one process seeds it all): every number once."""
    assert _seed(wallet.settings, 1_500, papers=1, processes=2) == 0
    expected = 1 if wallet.settings.resolved_database_url.startswith("sqlite") else 2
    assert f'"processes": {expected}' in capsys.readouterr().out
    assert _counts(wallet.settings) == (1_500, 1_500)
    _sign_in(wallet, 0)
    _sign_in(wallet, 1_499)


def test_seeded_dossiers_span_a_year_and_open_with_the_citizens_key(wallet: Wallet) -> None:
    """Dossiers over the 12 months before the seed, each readable by its citizen through the API (the sheet opened
    with the data key wrapped under their key) and counted by the agency statistics' SQL."""
    assert _seed(wallet.settings, 20, papers=0, dossiers=6) == 0
    engine = create_db_engine(wallet.settings.resolved_database_url, pool_size=1)
    with engine.connect() as connection:
        times = connection.execute(sa.select(col(Application.created_at))).scalars().all()
    engine.dispose()
    assert len(times) == 120
    spread = max(times) - min(times)
    assert timedelta(days=300) < spread < timedelta(days=365)
    assert max(times) < datetime.now(UTC) - timedelta(hours=23)
    token = _sign_in(wallet, 3)
    listed = wallet.get("/applications", token)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 6
    opened = wallet.get(f"/applications/{items[0]['id']}", token)
    assert opened.status_code == 200, opened.text
    assert opened.json()["fields"]["full_name"] == profile(3).full_name


def test_production_refuses_to_seed(monkeypatch: pytest.MonkeyPatch, wallet: Wallet) -> None:
    monkeypatch.setenv("WALLET_ENV", "prod")
    monkeypatch.setenv("WALLET_DATA_DIR", str(wallet.settings.data_dir))
    monkeypatch.setenv("WALLET_DATABASE_URL", wallet.settings.resolved_database_url)
    assert main(["seed", "--citizens", "1"]) == 2
    assert _counts(wallet.settings)[0] == 0


@pytest.mark.parametrize("first", [0, 49_999_000, 99_998_000])
def test_seeded_fields_are_already_what_validation_returns(first: int) -> None:
    """Seeding seals the generator's fields as they are: they must be exactly the service's validated form."""
    for n in range(first, first + 2_000, 7):
        for kind, fields in papers(profile(n), n, 6):
            assert validate_fields(kind, fields) == fields, (n, kind)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_after_a_load_every_written_table_is_vacuumed_and_analyzed(database_url: str, tmp_path: Any) -> None:
    """`settle` on PostgreSQL: the tables COPY wrote are vacuumed (hint bits, visibility map) and analyzed; a key
    store on SQLite is left alone."""
    engine = create_db_engine(database_url, pool_size=1)
    keystore = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}", pool_size=1)
    tables = ("citizen", "document", "document_version", "application")
    query = sa.text(
        "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(:names)"
        " AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
    )
    try:
        with engine.connect() as connection:
            assert not list(connection.execute(query, {"names": list(tables)}).scalars())
        settle(engine, keystore)
        with engine.connect() as connection:
            assert sorted(connection.execute(query, {"names": list(tables)}).scalars()) == sorted(tables)
    finally:
        engine.dispose()
        keystore.dispose()
