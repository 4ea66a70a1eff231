"""`bench --ssh` settings are checked before anything connects; the package zip it sends imports from a zip."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from edgedistill.bundle.schema import MANIFEST_SCHEMA_VERSION
from edgedistill.check.remote import SshTarget, package_zip
from edgedistill.cli import main


@pytest.mark.parametrize("extra, message", [
    (["--ssh", "-oProxyCommand=touch /tmp/owned"], "--ssh takes USER@HOST or HOST"),
    (["--ssh", "pi@board pi@other"], "--ssh takes USER@HOST or HOST"),
    (["--ssh", "pi@board\n"], "--ssh takes USER@HOST or HOST"),
    (["--ssh", "pi@board", "--port", "0"], "--port must be from 1 to 65535"),
    (["--ssh", "pi@board", "--port", "70000"], "--port must be from 1 to 65535"),
    (["--ssh", "pi@board", "--identity", "absent-key"], "--identity absent-key not found"),
    (["--ssh", "pi@board", "--ssh-option", "ProxyCommand"], "--ssh-option takes KEY=VALUE"),
    (["--ssh", "pi@board", "--ssh-option", "-F=/etc/passwd"], "--ssh-option takes KEY=VALUE"),
    (["--ssh", "pi@board", "--remote-python", " "], "--remote-python must be a python command"),
    (["--port", "22"], "go with --ssh USER@HOST"),
    (["--remote-python", "python3.11"], "go with --ssh USER@HOST"),
    (["--ssh", "pi@board", "--runs", "0"], "--runs must be at least 1"),
])
def test_bad_ssh_settings_are_one_line_errors_before_any_connection(tmp_path, capsys, extra, message):
    assert main(["bench", str(tmp_path / "no-bundle-needed"), *extra]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and message in error and "\n" not in error
    assert not (tmp_path / "owned").exists()


def test_the_ssh_command_never_reads_the_destination_as_an_option():
    command = SshTarget("pi@raspberrypi.local", port=2222, options=("UserKnownHostsFile=/k",)).command("true")
    assert command[0] == "ssh" and command[-3:] == ["--", "pi@raspberrypi.local", "true"]
    assert "BatchMode=yes" in command and command[command.index("-p") + 1] == "2222"
    assert SshTarget("pi@board", python="~/venv/bin/python").remote_python() == '"$HOME"/venv/bin/python'
    assert SshTarget("pi@board", python="/opt/my python").remote_python() == "'/opt/my python'"


def test_the_package_zip_runs_the_board_side_without_torch_or_an_installed_edgedistill(tmp_path):
    archive = tmp_path / "edgedistill.zip"
    archive.write_bytes(package_zip())
    names = zipfile.ZipFile(archive).namelist()
    assert "edgedistill/check/on_board.py" in names and "edgedistill/bundle/schemas/manifest-v3.json" in names
    assert not any("__pycache__" in name for name in names)
    code = ("import sys; sys.modules['torch'] = None; "
            "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
            f"sys.path.insert(0, {str(archive)!r}); "
            "import edgedistill.check.bench, edgedistill.check.on_board; "
            "from edgedistill.bundle.schema import manifest_schema; "
            "assert edgedistill.check.bench.__file__.startswith(sys.path[0]), edgedistill.check.bench.__file__; "
            "print(manifest_schema()['properties']['schema_version']['const'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(MANIFEST_SCHEMA_VERSION)
