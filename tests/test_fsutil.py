"""Atomic writes leave either the complete output or nothing, with normal permissions, and never delete foreign files."""

import os
import stat
from pathlib import Path

import pytest

from edgedistill.errors import UserError
from edgedistill.fsutil import (ScratchRecord, atomic_output_dir, atomic_write_bytes, check_name, holds_only, inside,
                                named_path, require_apart, write_new_file)

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


def test_a_failed_swap_puts_the_old_output_back(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    real_replace = os.replace

    def failing_replace(source, target):
        if ".partial-" in os.fspath(source):
            raise OSError("disk gone")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk gone"):
        with atomic_output_dir(tmp_path / "out", OURS) as scratch:
            atomic_write_bytes(scratch / "new.bin", b"new")
    assert os.listdir(tmp_path) == ["out"] and os.listdir(tmp_path / "out") == ["old.txt"]


def test_every_written_file_and_its_folder_reach_the_disk(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    atomic_write_bytes(tmp_path / "index.json", b"{}")
    assert len(synced) == 2 and synced[0].startswith(str(tmp_path / ".index.json.partial-"))
    assert synced[1] == str(tmp_path)  # the rename itself

    synced.clear()
    with atomic_output_dir(tmp_path / "out", OURS) as scratch:
        (scratch / "sub").mkdir()
        (scratch / "sub" / "old.txt").write_text("a")
        (scratch / "new.bin").write_bytes(b"b")
    moved = [path.replace(str(scratch), str(tmp_path / "out")) for path in synced]
    assert set(moved) == {str(tmp_path / "out" / "sub" / "old.txt"), str(tmp_path / "out" / "sub"),
                          str(tmp_path / "out" / "new.bin"), str(tmp_path / "out"), str(tmp_path)}
    assert moved[-1] == str(tmp_path)  # the rename itself, once the contents are down


def test_sweep_removes_what_the_record_lists_and_nothing_else(tmp_path):
    record = ScratchRecord(tmp_path / ".record")
    killed = [tmp_path / "m" / ".1.partial-ab12cd34", tmp_path / ".index.json.partial-q1w2e3r4"]
    killed[0].mkdir(parents=True)
    (killed[0] / "half.bin").write_bytes(b"x")
    killed[1].write_text("{")
    for path in killed:
        record.add(path)  # as a writer killed before it could remove them leaves them
    look_alikes = [tmp_path / ".index.json.old-20250101", tmp_path / "m" / ".1.old-backup01", tmp_path / "thesis.tex"]
    for path in look_alikes:
        path.write_text("the user's")
    (tmp_path / "outside").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "outside")
    (tmp_path / "outside" / "secret").write_text("the user's")
    with open(tmp_path / ".record", "a") as listed:  # entries no writer of this folder makes: never followed out
        listed.write('"linked/secret"\n"../outside"\n"/etc/passwd"\nnot json\n')
    record.sweep()
    assert not any(os.path.lexists(path) for path in killed) and not (tmp_path / ".record").exists()
    assert all(path.read_text() == "the user's" for path in [*look_alikes, tmp_path / "outside" / "secret"])


def test_a_writer_lists_its_scratch_only_while_it_may_exist(tmp_path):
    record = ScratchRecord(tmp_path / ".record")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    with atomic_output_dir(tmp_path / "out", OURS, record=record) as scratch:
        assert (tmp_path / ".record").read_text() == f'"{scratch.name}"\n'
        atomic_write_bytes(tmp_path / "index.json", b"{}", record=record)
        (scratch / "new.bin").write_bytes(b"new")
    assert sorted(os.listdir(tmp_path)) == ["index.json", "out"]


def test_writes_through_a_linked_root_reach_the_disk(tmp_path):
    """A link the user named (runs/ -> /mnt/models) leads the write and its flush: nothing is left half done."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    atomic_write_bytes(tmp_path / "link" / "index.json", b"{}")
    with atomic_output_dir(tmp_path / "link" / "out", OURS) as scratch:
        (scratch / "new.bin").write_bytes(b"new")
    assert sorted(os.listdir(tmp_path / "real")) == ["index.json", "out"]
    (tmp_path / "model").symlink_to(tmp_path / "real" / "out")
    with atomic_output_dir(named_path(tmp_path / "model"), OURS) as scratch:
        (scratch / "old.txt").write_text("replaced where the link the user named leads")
    assert (tmp_path / "model").is_symlink() and os.listdir(tmp_path / "real" / "out") == ["old.txt"]


@pytest.mark.parametrize("name", ["../x", "/abs", "a/b", ".", "..", "", "a\nb", "a\0b", "name\n", ".hidden", "-rf",
                                  "a b", "x" * 201, 5, None])
def test_a_name_that_is_not_one_plain_segment_is_refused(name):
    with pytest.raises(UserError, match=r"^profile name .* cannot name a file or folder; use up to 200 letters"):
        check_name(name, "profile name")


def test_inside_refuses_links_below_the_root_and_paths_out_of_it(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "root").symlink_to(tmp_path / "elsewhere")  # the root itself may be a link the user named
    assert inside(tmp_path / "root", "a", "b") == tmp_path / "root" / "a" / "b"
    (tmp_path / "elsewhere" / "a").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UserError, match=r"root/a is a symbolic link; edgedistill never follows a link inside"):
        inside(tmp_path / "root", "a", "b")
    for parts in (("..",), ("/etc",), (".",), ("x", "..", "..", "y")):
        with pytest.raises(UserError, match="does not lie inside|root is a symbolic link"):
            inside(tmp_path / "root", *parts)


@pytest.mark.parametrize("out, relation", [("teacher", "is"), ("teacher/student", "lies inside"), (".", "holds"),
                                           ("link", "is")])
def test_an_output_that_overlaps_an_input_is_refused(tmp_path, monkeypatch, out, relation):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "teacher").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "teacher")
    with pytest.raises(UserError, match=rf"^--out {out} {relation} the teacher teacher; give --out a path apart"):
        require_apart(Path(out), [("data", "builtin:mr-polarity"), ("student base", None), ("teacher", "teacher")])
    require_apart(Path("student"), [("teacher", "teacher"), ("data", "builtin:mr-polarity")])


def test_write_new_file_never_overwrites_nor_follows_a_link(tmp_path):
    write_new_file(tmp_path / "a.key", b"secret", 0o600)
    assert stat.S_IMODE(os.stat(tmp_path / "a.key").st_mode) == 0o600
    with pytest.raises(UserError, match="already exists"):
        write_new_file(tmp_path / "a.key", b"other", 0o600)
    (tmp_path / "link.key").symlink_to(tmp_path / "target")
    with pytest.raises(UserError, match="already exists"):
        write_new_file(tmp_path / "link.key", b"other", 0o600)
    assert (tmp_path / "a.key").read_bytes() == b"secret" and not (tmp_path / "target").exists()
