"""Atomic writes leave either the complete output or nothing, with normal permissions."""

import os
import stat

import pytest

from edgedistill.fsutil import atomic_output_dir, atomic_write_bytes


def test_failed_block_leaves_no_output(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_output_dir(tmp_path / "out") as scratch:
            (scratch / "half.bin").write_bytes(b"x")
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []


def test_success_replaces_old_output_and_is_world_readable(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    with atomic_output_dir(tmp_path / "out") as scratch:
        atomic_write_bytes(scratch / "new.bin", b"new")
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert os.listdir(tmp_path / "out") == ["new.bin"]
    assert stat.S_IMODE(os.stat(tmp_path / "out").st_mode) & 0o055 == 0o055 & ~os.umask(os.umask(0))
    assert stat.S_IMODE(os.stat(tmp_path / "out" / "new.bin").st_mode) & 0o044 == 0o044 & ~os.umask(os.umask(0))
