"""Publish and pull real ONNX Runtime bundles through a directory registry."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edgedistill.bundle.registry import INDEX_FILE, list_bundles, publish, pull, resolve
from edgedistill.cli import main
from edgedistill.errors import UserError
from edgedistill.fsutil import sha256_file
from edgedistill.jsonio import write_json

pytestmark = pytest.mark.slow  # one real ONNX Runtime export

REPO = Path(__file__).resolve().parents[2]
NO_TORCH = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "
            "from edgedistill.cli import main; sys.exit(main(sys.argv[1:]))")
@pytest.fixture
def registry(tmp_path) -> Path:
    return tmp_path / "registry"


def rebuilt(bundle: Path, tmp_path: Path, created_at: str) -> Path:
    """The same bundle with another created_at, so its manifest (and manifest_sha256) differs."""
    copy = tmp_path / f"rebuilt-{created_at}" / bundle.name
    shutil.copytree(bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    write_json(copy / "manifest.json", {**manifest, "created_at": created_at})
    return copy


def file_bytes(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def one_line_error(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    return error


def test_publish_then_pull_gives_identical_files_that_pass_check(bundle, registry, tmp_path):
    ref = publish(bundle, str(registry))
    assert (ref.name, ref.version, ref.path) == (bundle.name, "1", registry / bundle.name / "1")
    out = pull(f"{bundle.name}@1", registry.as_uri(), tmp_path / "pulled")
    assert file_bytes(out) == file_bytes(bundle)
    assert main(["check", str(out)]) == 0

    manifest = json.loads((bundle / "manifest.json").read_text())
    entry = json.loads((registry / INDEX_FILE).read_text())["bundles"][bundle.name]["1"]
    assert entry == {
        "runtime": "onnxruntime", "target": "registry-test", "precision": "fp32", "created_at": manifest["created_at"],
        "manifest_sha256": sha256_file(bundle / "manifest.json"),
        "metrics": {"accuracy": manifest["metrics"]["accuracy"], "size_bytes": manifest["metrics"]["size_bytes"],
                    "latency_ms": {"p50": manifest["metrics"]["latency_ms"]["p50"]}},
    }
    assert not [p for p in registry.rglob(".*partial*")]


def test_versions_count_up_and_latest_is_the_highest(bundle, registry, tmp_path):
    assert [publish(bundle, str(registry)).version for _ in range(2)] == ["1", "2"]
    assert publish(rebuilt(bundle, tmp_path, "2031-01-01T00:00:00+00:00"), str(registry), "2.1.0").version == "2.1.0"
    assert publish(bundle, str(registry), "3.0.0-rc1").version == "3.0.0-rc1"
    assert publish(bundle, str(registry)).version == "4"
    assert list(list_bundles(str(registry))[bundle.name]) == ["1", "2", "2.1.0", "3.0.0-rc1", "4"]
    assert resolve(bundle.name, str(registry)).version == "4"
    assert resolve(f"{bundle.name}@latest", str(registry)).version == "4"

    latest = rebuilt(bundle, tmp_path, "2032-01-01T00:00:00+00:00")
    assert publish(latest, str(registry), "4.0.1").version == "4.0.1"
    out = pull(f"{bundle.name}@latest", str(registry), tmp_path / "latest")
    assert file_bytes(out) == file_bytes(latest)
    out = pull(f"{bundle.name}@2.1.0", str(registry), tmp_path / "older")
    assert json.loads((out / "manifest.json").read_text())["created_at"] == "2031-01-01T00:00:00+00:00"


def test_a_published_version_is_never_overwritten(bundle, registry, tmp_path):
    publish(bundle, str(registry), "1.0.0")
    before = file_bytes(registry / bundle.name / "1.0.0")
    other = rebuilt(bundle, tmp_path, "2031-01-01T00:00:00+00:00")
    for version in ("1.0.0", "1"):  # 1 and 1.0.0 are the same release
        with pytest.raises(UserError, match=r"@1\.0\.0 is already published"):
            publish(other, str(registry), version)
    assert file_bytes(registry / bundle.name / "1.0.0") == before
    assert list(list_bundles(str(registry))[bundle.name]) == ["1.0.0"]


def test_concurrent_publishers_keep_every_entry(bundle, registry):
    errors = []

    def publish_one():
        try:
            publish(bundle, str(registry))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=publish_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert list(list_bundles(str(registry))[bundle.name]) == ["1", "2", "3", "4"]
    assert sorted(p.name for p in (registry / bundle.name).iterdir()) == ["1", "2", "3", "4"]


def test_a_tampered_bundle_is_refused_at_publish(bundle, registry, tmp_path):
    tampered = tmp_path / bundle.name
    shutil.copytree(bundle, tampered)
    (tampered / "labels.json").write_text(json.dumps({"labels": ["pos", "neg"]}))
    with pytest.raises(UserError, match=r"refusing to publish: .*labels.json is \d+ bytes, but manifest.json records") as caught:
        publish(tampered, str(registry))
    assert "\n" not in str(caught.value)
    assert not registry.exists()  # a refused publish writes nothing, not even the registry's folder


@pytest.mark.parametrize("corrupt", ["model", "truncated model", "manifest"])
def test_a_registry_file_corrupted_after_publish_leaves_nothing_at_out(bundle, registry, tmp_path, corrupt):
    ref = publish(bundle, str(registry))
    model = next(ref.path.glob("*.onnx"))
    if corrupt == "model":
        data = model.read_bytes()
        model.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, other bytes
        message = r"is corrupt, nothing pulled: .*\.onnx does not match its sha256"
    elif corrupt == "truncated model":  # refused by its size before it is copied
        model.write_bytes(model.read_bytes()[:-7])
        message = r"\.onnx is \d+ bytes, but manifest.json records \d+; publish the bundle again"
    else:  # an edited manifest still matches its files, but not the index
        manifest = json.loads((ref.path / "manifest.json").read_text())
        manifest["metrics"]["accuracy"] = 1.0
        write_json(ref.path / "manifest.json", manifest)
        message = r"manifest.json does not match its sha256 in index.json"
    out = tmp_path / "apps" / "model"
    with pytest.raises(UserError, match=message):
        pull(ref.reference, str(registry), out)
    assert not out.exists() and list((tmp_path / "apps").iterdir()) == []


def test_pull_replaces_an_old_pull_but_never_deletes_other_files(bundle, registry, tmp_path):
    publish(bundle, str(registry))
    out = pull(bundle.name, str(registry), tmp_path / "model")
    assert file_bytes(pull(bundle.name, str(registry), out)) == file_bytes(bundle)  # our own output: replaced

    (out / "notes.txt").write_text("the user's own file")
    with pytest.raises(UserError, match="holds files edgedistill did not write"):
        pull(bundle.name, str(registry), out)
    assert (out / "notes.txt").read_text() == "the user's own file"

    web_app = tmp_path / "web"
    web_app.mkdir()
    (web_app / "manifest.json").write_text('{"name": "my app"}')
    (web_app / ".env").write_text("SECRET=1")
    with pytest.raises(UserError, match=r"holds files edgedistill did not write \(.env, manifest.json\)"):
        pull(bundle.name, str(registry), web_app)
    assert file_bytes(web_app) == {"manifest.json": b'{"name": "my app"}', ".env": b"SECRET=1"}


def test_unknown_names_and_versions_list_what_exists(bundle, registry):
    publish(bundle, str(registry))
    publish(bundle, str(registry), "1.5.0")
    with pytest.raises(UserError, match=rf"no bundle named 'nope' in .*; published names: {bundle.name}$"):
        resolve("nope@1", str(registry))
    with pytest.raises(UserError, match=rf"{bundle.name} has no version '9' in .*; published versions: 1, 1\.5\.0$"):
        resolve(f"{bundle.name}@9", str(registry))
    with pytest.raises(UserError, match="must be NAME, NAME@VERSION or NAME@latest"):
        resolve(f"{bundle.name}@1@2", str(registry))
    with pytest.raises(UserError, match="registry .* is not an existing directory"):
        resolve(bundle.name, str(registry / "missing"))
    with pytest.raises(UserError, match=r"ftp:// is not a registry store; give a directory or a file://, s3://"):
        resolve(bundle.name, "ftp://host/models")


def test_cli_round_trip_with_the_registry_from_the_environment(bundle, registry, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDGEDISTILL_REGISTRY", str(registry))
    assert main(["publish", str(bundle), "--version", "0.1.0"]) == 0
    assert capsys.readouterr().out.strip() == f"published {bundle.name}@0.1.0 to {registry / bundle.name / '0.1.0'}"
    assert main(["pull", bundle.name, "--out", str(tmp_path / "pulled")]) == 0
    assert capsys.readouterr().out.strip() == f"pulled {bundle.name}@0.1.0 into {tmp_path / 'pulled'}"
    assert main(["bundles", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing[bundle.name]["0.1.0"]["runtime"] == "onnxruntime"
    assert main(["bundles", "--registry", registry.as_uri()]) == 0
    table = capsys.readouterr().out
    assert bundle.name in table and "0.1.0" in table and "onnxruntime" in table


@pytest.mark.parametrize("argv, message", [
    (["publish", "{bundle}", "--registry", "{registry}", "--version", "latest"], "--version 'latest' must look like"),
    (["publish", "{bundle}", "--registry", "{registry}", "--version", "v2"], "--version 'v2' must look like"),
    (["publish", "{bundle}", "--registry", "{registry}", "--version", "1"], "is already published"),
    (["publish", "{registry}", "--registry", "{registry}"], "--registry .* is the bundle .*; give --registry a path apart"),
    (["publish", "{registry}", "--registry", "{out}"], "refusing to publish: .* is not a bundle"),
    (["publish", "{bundle}"], "pass --registry DIR or URL, or set EDGEDISTILL_REGISTRY"),
    (["pull", "nope", "--registry", "{registry}", "--out", "{out}"], "no bundle named 'nope'"),
    (["pull", "{name}@7", "--registry", "{registry}", "--out", "{out}"], "published versions: 1$"),
    (["bundles", "--registry", "{registry}/missing"], "registry .* is not an existing directory"),
])
def test_cli_errors_are_one_line_with_exit_2(bundle, registry, tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.delenv("EDGEDISTILL_REGISTRY", raising=False)
    publish(bundle, str(registry))
    values = {"bundle": str(bundle), "registry": str(registry), "out": str(tmp_path / "out"), "name": bundle.name}
    assert main([arg.format(**values) for arg in argv]) == 2
    assert re.search(message, one_line_error(capsys))
    assert not (tmp_path / "out").exists()


def test_pull_and_list_run_where_torch_cannot_be_imported(bundle, registry, tmp_path):
    publish(bundle, str(registry))
    env = {**os.environ, "PYTHONPATH": str(REPO), "EDGEDISTILL_REGISTRY": registry.as_uri()}

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", NO_TORCH, *argv], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=300)

    pulled = run("pull", f"{bundle.name}@latest", "--out", str(tmp_path / "pi"))
    assert pulled.returncode == 0, pulled.stderr
    assert file_bytes(tmp_path / "pi") == file_bytes(bundle)
    listed = run("bundles", "--json")
    assert listed.returncode == 0, listed.stderr
    assert list(json.loads(listed.stdout)[bundle.name]) == ["1"]
    missing = run("pull", f"{bundle.name}@2", "--out", str(tmp_path / "none"))
    assert missing.returncode == 2 and missing.stderr.strip().endswith("published versions: 1")
