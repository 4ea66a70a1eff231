"""`teach`/`distill --config FILE`: settings as data, with command-line flags on top."""

import json

from edgedistill.cli import main


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_distill_reads_a_toml_config_and_flags_override_it(tmp_path, tiny_csv, tiny_teacher):
    out = tmp_path / "student"
    config = _write(tmp_path / "distill.toml", f"""
teacher = "{tiny_teacher}"
out = "{out}"
layer_map = [1]
epochs = 3
min_steps = 0
temperature = 2.0
learning_rate = 3e-3
[data]
source = "{tiny_csv}"
""")
    assert main(["distill", "--config", str(config), "--epochs", "1", "--alpha", "0.25"]) == 0
    record = json.loads((out / "distill.json").read_text())
    assert record["layer_map"] == [1] and record["temperature"] == 2.0  # from the file
    assert record["epochs"] == 1 and record["alpha"] == 0.25  # from the flags


def test_yaml_config_with_an_unknown_key_is_a_one_line_error(tmp_path, tiny_csv, capsys):
    config = _write(tmp_path / "teach.yaml", f"data:\n  source: {tiny_csv}\nout: {tmp_path / 'teacher'}\nepochz: 2\n")
    assert main(["teach", "--config", str(config)]) == 2
    error = capsys.readouterr().err.strip()
    assert "unknown key 'epochz'" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "teacher").exists()


def test_required_settings_come_from_flags_or_a_config(tmp_path, capsys):
    assert main(["distill", "--out", str(tmp_path / "student")]) == 2
    assert "missing --data, --teacher (or pass --config FILE)" in capsys.readouterr().err
