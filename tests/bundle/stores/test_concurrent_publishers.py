"""Publishers racing each other never lose an entry: a directory's flock, S3's conditional writes, memory's lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edgedistill.bundle.registry import list_bundles, publish
from edgedistill.bundle.stores import open_store
from edgedistill.errors import UserError
from tests.bundle.stores.conftest import renamed
from tests.bundle.stores.seaweedfs import BUCKET

REPO = Path(__file__).resolve().parents[3]
# Each publisher imports everything first, then waits for the same start signal, so the publishes overlap.
PUBLISHER = """
import sys, time
from pathlib import Path
from edgedistill.bundle.registry import publish
go = Path(sys.argv[3])
while not go.exists():
    time.sleep(0.01)
print(publish(Path(sys.argv[1]), sys.argv[2]).version)
"""


def publish_at_once(bundles: list[Path], registry: str, tmp_path: Path) -> list[subprocess.CompletedProcess]:
    """Publish each bundle from its own process, all released at the same moment."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [subprocess.Popen([sys.executable, "-c", PUBLISHER, str(bundle), registry, str(go)], env=env,
                                  cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for bundle in bundles]
    time.sleep(3)  # let every process import and wait at the start line
    go.touch()
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return results


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_two_processes_publishing_at_once_both_end_up_listed(kind, request, fake, tmp_path):
    if kind == "s3":
        request.getfixturevalue("s3_env")
        registry = f"s3://{BUCKET}/race-{time.time_ns()}"
    else:
        registry = (tmp_path / "registry").as_uri()
    bundles = [renamed(fake, "alpha", tmp_path / "a"), renamed(fake, "beta", tmp_path / "b"),
               renamed(fake, "alpha", tmp_path / "a2"), renamed(fake, "beta", tmp_path / "b2")]
    results = publish_at_once(bundles, registry, tmp_path)
    assert [result.returncode for result in results] == [0] * 4, [result.stderr[-800:] for result in results]
    listing = list_bundles(registry)
    assert {name: sorted(versions) for name, versions in listing.items()} == {"alpha": ["1", "2"], "beta": ["1", "2"]}
    assert sorted(result.stdout.strip() for result in results) == ["1", "1", "2", "2"]


def test_threads_publishing_one_bundle_in_memory_take_one_version_each(fake):
    registry, errors = "memory://race-threads", []

    def publish_one():
        try:
            publish(fake, registry)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=publish_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert list(list_bundles(registry)[fake.name]) == ["1", "2", "3", "4", "5", "6"]


def test_concurrent_index_updates_on_s3_lose_nothing(s3_env):
    """Many compare-and-swap updates of one index at once, on the real server: every one of them lands."""
    registry = f"s3://{BUCKET}/cas-{time.time_ns()}"
    errors = []

    def add(writer: int):
        try:
            store = open_store(registry)
            for step in range(5):
                store.update_index(lambda current: json.dumps(
                    [*json.loads(current or b"[]"), f"{writer}-{step}"]).encode())
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(writer,)) for writer in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    entries = json.loads(open_store(registry).read_index())
    assert sorted(entries) == sorted(f"{writer}-{step}" for writer in range(6) for step in range(5))


def test_two_publishers_asking_for_the_same_version_on_s3_one_wins(s3_env, fake, tmp_path):
    registry = f"s3://{BUCKET}/same-version-{time.time_ns()}"
    rebuilt = renamed(fake, fake.name, tmp_path / "rebuilt")
    manifest = json.loads((rebuilt / "manifest.json").read_text())
    (rebuilt / "manifest.json").write_text(json.dumps({**manifest, "created_at": "2031-01-01T00:00:00+00:00"}))
    outcomes: list[str] = []

    def publish_as_2(bundle: Path):
        try:
            publish(bundle, registry, "2.0")
            outcomes.append("published")
        except UserError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=publish_as_2, args=(bundle,)) for bundle in (fake, rebuilt)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("published") == 1, outcomes
    refusal = next(outcome for outcome in outcomes if outcome != "published")
    assert "is already published" in refusal or "is being published to" in refusal
    assert list(list_bundles(registry)[fake.name]) == ["2.0"]
