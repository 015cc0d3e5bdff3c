"""PlexiFact catalogs, embedded and in the team control plane: where they live, loading,
limits, health."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.runtime.plexifact import (
    CatalogData,
    EmbeddedCatalog,
    Limits,
    PlexiFactError,
    catalog_path,
    load,
    open_catalog,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_each_catalog_uri_has_its_own_file(tmp_path: Path) -> None:
    assert catalog_path(tmp_path, "plexifact://staging/catalog") == \
        tmp_path / "plexifact" / "staging" / "catalog.db"
    assert catalog_path(tmp_path, "plexifact://prod/catalog") != \
        catalog_path(tmp_path, "plexifact://staging/catalog")
    for bad in ("s3://bucket/x", "plexifact:///x", "plexifact://a/../b"):
        with pytest.raises(PlexiFactError, match="not a PlexiFact catalog URI"):
            catalog_path(tmp_path, bad)


@pytest.mark.parametrize("store_kind", ["sqlite", pytest.param("postgresql",
                                                                 marks=pytest.mark.postgres)])
def test_loaded_feeds_and_positions_are_read_back(tmp_path: Path, store_kind: str,
                                                  request: pytest.FixtureRequest) -> None:
    where = tmp_path / "cp.db" if store_kind == "sqlite" else \
        request.getfixturevalue("team_database")
    with ControlPlane(where) as store:
        load(tmp_path, "plexifact://t/c", CatalogData.model_validate({
            "feeds": [{"name": "fx", "age_minutes": 30, "row_count": 7},
                      {"name": "eq", "last_ingested_at": "2026-11-26T11:00:00"}],
            "positions": [{"fund_id": "F", "source": "custodian", "instrument": "X",
                           "quantity": 3}]}), NOW, store)
        catalog = open_catalog(tmp_path, "plexifact://t/c", Limits(), store)
        assert catalog.feed_metadata("fx") == {"name": "fx", "row_count": 7,
                                               "last_ingested_at": "2026-11-26T11:30:00+00:00"}
        assert catalog.feed_metadata("eq")["last_ingested_at"] == "2026-11-26T11:00:00+00:00"
        assert catalog.positions("F", "custodian", None) == [
            {"fund_id": "F", "instrument": "X", "quantity": 3.0, "as_of": None}]
        assert catalog.positions("F", "internal", None) == []
        assert catalog.health() == "healthy"
        with pytest.raises(PlexiFactError, match="no feed named 'nope' in plexifact://t/c"):
            catalog.feed_metadata("nope")
        unloaded = open_catalog(tmp_path, "plexifact://t/other", Limits(), store)
        assert unloaded.health() == ("unreachable (plexifact://t/other has no data; "
                                     "load it with `flexor plexifact load`)")
        many = CatalogData.model_validate({"positions": [
            {"fund_id": "F", "source": "s", "instrument": f"i{n}", "quantity": n}
            for n in range(3)]})
        load(tmp_path, "plexifact://t/c", many, NOW, store)  # replaces the catalog
        assert open_catalog(tmp_path, "plexifact://t/c", Limits(), store).positions(
            "F", "custodian", None) == []
        with pytest.raises(PlexiFactError, match=r"more than 2 rows \(max_rows_per_query\)"):
            open_catalog(tmp_path, "plexifact://t/c", Limits(max_rows_per_query=2),
                         store).positions("F", "s", None)


def test_a_missing_catalog_is_unreachable_with_the_reason(tmp_path: Path) -> None:
    catalog = EmbeddedCatalog("plexifact://t/c", tmp_path / "none.db", Limits())
    assert catalog.health() == ("unreachable (plexifact://t/c has no data; "
                                "load it with `flexor plexifact load`)")


def test_a_feed_needs_exactly_one_time() -> None:
    with pytest.raises(ValueError, match="exactly one of last_ingested_at and age_minutes"):
        CatalogData.model_validate({"feeds": [{"name": "x"}]})


def test_an_environment_without_a_catalog_is_not_configured(project: Path) -> None:
    from flexor_iac.controlplane.store import ControlPlane, locate
    from flexor_iac.core.constants import Environment
    from flexor_iac.core.workspace import ProjectPaths
    from flexor_iac.runtime.connection import health

    stack = project / "Pulumi.sandbox.yaml"
    stack.write_text(stack.read_text().replace("  flexor:catalog: plexifact://sandbox/catalog\n",
                                               ""))
    with ControlPlane(locate(project)) as store:
        assert health(ProjectPaths(project), Environment.SANDBOX, store) == "not configured"
        assert health(ProjectPaths(project), Environment.STAGING, store).startswith(
            "unreachable (plexifact://staging/catalog has no data")
