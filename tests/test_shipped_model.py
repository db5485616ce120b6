"""The shipped model artifact names its training data by name and content hash, and records no
path of the machine that trained or exported it."""

from __future__ import annotations

from collections.abc import Iterator


def strings(value, where: str = "metadata") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from strings(item, f"{where}[{i}]")
    elif isinstance(value, str):
        yield where, value


def test_shipped_artifact_names_its_data_and_records_no_machine_path(predictor):
    metadata = predictor.metadata  # the shipped model (conftest)
    data = metadata["training_data"]
    assert data["name"] == "synth3000_v11"
    assert len(data["content_sha256"]) == 64
    assert "root" not in data
    absolute = [(where, s) for where, s in strings(metadata) if s.startswith(("/", "~"))]
    assert not absolute, f"absolute paths in the artifact: {absolute}"
