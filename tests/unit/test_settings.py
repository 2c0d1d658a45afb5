import os

import pytest

from services.api.settings import ApiSettings
from services.ingest.settings import IngestSettings
from services.projector.settings import ProjectorSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("settings_class", [IngestSettings, ProjectorSettings, ApiSettings])
def test_every_service_reads_parley_variables(monkeypatch, settings_class) -> None:
    monkeypatch.setenv("PARLEY_KAFKA_BOOTSTRAP_SERVERS", "kafka.example:19092")
    monkeypatch.setenv("PARLEY_HTTP_PORT", "18000")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "unprefixed:1")
    settings = settings_class()
    assert settings.kafka_bootstrap_servers == "kafka.example:19092"
    assert settings.http_port == 18000


def test_defaults_are_the_documented_ones() -> None:
    assert (IngestSettings().http_port, ApiSettings().http_port) == (8001, 8000)
    assert ProjectorSettings().topic == "parley.events"
    assert ProjectorSettings().topic_partitions == 6


def test_the_ingest_runs_one_worker_per_cpu_at_most_four_unless_told(monkeypatch) -> None:
    monkeypatch.delenv("PARLEY_INGEST_WORKERS", raising=False)
    cpus = len(os.sched_getaffinity(0))
    assert IngestSettings().workers == max(1, min(cpus, 4))
    monkeypatch.setenv("PARLEY_INGEST_WORKERS", "3")
    assert IngestSettings().workers == 3
