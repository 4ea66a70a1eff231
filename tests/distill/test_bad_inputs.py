"""Mistakes in the input end in one `error:` line and exit code 2, never a traceback or a partial --out."""

from __future__ import annotations

import shutil

import pytest

from edgedistill.cli import main
from tests.tiny import write_csv


def _expect_user_error(argv: list[str], out, capsys, fragment: str) -> None:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err, err
    assert fragment in err
    assert "Traceback" not in err
    assert not out.exists()


def _teach(data, out, base, *extra) -> list[str]:
    return ["teach", "--data", str(data), "--base", str(base), "--out", str(out), "--epochs", "1", "--min-steps", "0", *extra]


def test_missing_data_file(tmp_path, tiny_base, capsys):
    out = tmp_path / "teacher"
    _expect_user_error(_teach(tmp_path / "absent.csv", out, tiny_base), out, capsys, "not found")


def test_unknown_column(tmp_path, tiny_csv, tiny_base, capsys):
    out = tmp_path / "teacher"
    _expect_user_error(_teach(tiny_csv, out, tiny_base, "--text-column", "body"), out, capsys, "no column 'body'")


def test_empty_dataset(tmp_path, tiny_base, capsys):
    data, out = write_csv(tmp_path / "empty.csv", []), tmp_path / "teacher"
    _expect_user_error(_teach(data, out, tiny_base), out, capsys, "empty")


def test_single_class(tmp_path, tiny_base, capsys):
    data = write_csv(tmp_path / "one.csv", [("great film", "pos"), ("superb cast", "pos"), ("moving story", "pos")])
    out = tmp_path / "teacher"
    _expect_user_error(_teach(data, out, tiny_base), out, capsys, "only one class")


def test_test_label_unseen_in_training(tmp_path, tiny_csv, tiny_base, capsys):
    test_data = write_csv(tmp_path / "test.csv", [("great film", "pos"), ("so-so film", "neutral")])
    out = tmp_path / "teacher"
    _expect_user_error(_teach(tiny_csv, out, tiny_base, "--test-data", str(test_data)), out, capsys, "'neutral'")


def test_non_utf8_text(tmp_path, tiny_base, capsys):
    data = tmp_path / "latin1.csv"
    data.write_bytes("text,label\ncaf\u00e9 cr\u00e8me film,pos\ndull film,neg\n".encode("latin-1"))
    out = tmp_path / "teacher"
    _expect_user_error(_teach(data, out, tiny_base), out, capsys, "not UTF-8")


def test_bad_training_settings(tmp_path, tiny_csv, tiny_base, capsys):
    out = tmp_path / "teacher"
    _expect_user_error(_teach(tiny_csv, out, tiny_base, "--epochs", "0"), out, capsys, "--epochs")


def test_teacher_without_labels_is_not_a_classifier(tmp_path, tiny_base, distill_argv, capsys):
    out = tmp_path / "student"
    _expect_user_error(distill_argv(tiny_base, out), out, capsys, "is not a classifier")


def test_plain_encoder_is_not_a_classifier(tmp_path, tiny_base, distill_argv, capsys):
    from transformers import AutoModel

    encoder = tmp_path / "encoder"
    AutoModel.from_pretrained(tiny_base).save_pretrained(encoder)
    out = tmp_path / "student"
    _expect_user_error(distill_argv(encoder, out), out, capsys, "is not a classifier")


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--layer-map", "0,5"], "out of range"),
        (["--temperature", "0"], "temperature"),
        (["--alpha", "1.5"], "alpha"),
        (["--loss", "nonsense=1"], "unknown intermediate loss"),
    ],
)
def test_bad_distill_settings(tmp_path, tiny_teacher, distill_argv, capsys, extra, fragment):
    out = tmp_path / "student"
    _expect_user_error(distill_argv(tiny_teacher, out, *extra), out, capsys, fragment)


def test_out_holding_foreign_files_is_refused_before_training(tmp_path, tiny_csv, tiny_base, capsys):
    out = tmp_path / "work"
    (out / "src").mkdir(parents=True)
    (out / "thesis.tex").write_text("years of work")
    capsys.readouterr()
    assert main(_teach(tiny_csv, out, tiny_base)) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: output directory {out} holds files edgedistill did not write (src, thesis.tex); "
                   "choose another --out, or move them away yourself")
    assert sorted(path.name for path in out.iterdir()) == ["src", "thesis.tex"]


def test_a_users_own_model_directory_is_never_taken_for_an_output(tmp_path, tiny_csv, tiny_base, capsys):
    mine = tmp_path / "mine"
    shutil.copytree(tiny_base, mine)
    assert main(_teach(tiny_csv, mine, tiny_base)) == 2
    assert "holds files edgedistill did not write" in capsys.readouterr().err
    assert main(_teach(tiny_csv, tiny_base, tiny_base)) == 2  # --out is the base model itself
    assert "is the base encoder" in capsys.readouterr().err
    assert (mine / "model.safetensors").is_file() and (tiny_base / "model.safetensors").is_file()


def test_a_previous_teach_output_is_replaced(tmp_path, tiny_csv, tiny_base):
    out = tmp_path / "teacher"
    assert main(_teach(tiny_csv, out, tiny_base)) == 0
    first = (out / "metrics.json").read_text()
    assert main(_teach(tiny_csv, out, tiny_base, "--seed", "7")) == 0
    assert (out / "metrics.json").read_text() != first
