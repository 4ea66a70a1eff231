"""Atomic writes leave either the complete output or nothing, with normal permissions, and never delete foreign files."""

import os
import stat

import pytest

from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_output_dir, atomic_write_bytes, holds_only

OURS = holds_only(["old.txt", "new.bin"])


def test_failed_block_leaves_no_output(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_output_dir(tmp_path / "out", OURS) as scratch:
            (scratch / "half.bin").write_bytes(b"x")
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []


def test_success_replaces_own_old_output_and_is_world_readable(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    with atomic_output_dir(tmp_path / "out", OURS) as scratch:
        atomic_write_bytes(scratch / "new.bin", b"new")
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert os.listdir(tmp_path / "out") == ["new.bin"]
    assert stat.S_IMODE(os.stat(tmp_path / "out").st_mode) & 0o055 == 0o055 & ~os.umask(os.umask(0))
    assert stat.S_IMODE(os.stat(tmp_path / "out" / "new.bin").st_mode) & 0o044 == 0o044 & ~os.umask(os.umask(0))


def test_a_directory_with_foreign_files_is_refused_and_kept(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    (tmp_path / "out" / "thesis.tex").write_text("years of work")
    with pytest.raises(UserError, match=r"holds files edgedistill did not write \(old.txt, thesis.tex\)"):
        with atomic_output_dir(tmp_path / "out", OURS) as scratch:
            atomic_write_bytes(scratch / "new.bin", b"new")
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert (tmp_path / "out" / "thesis.tex").read_text() == "years of work"


def test_a_symlinked_output_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UserError, match="is a symbolic link"):
        with atomic_output_dir(tmp_path / "out", OURS):
            pass
    assert os.listdir(tmp_path / "elsewhere") == []
