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
