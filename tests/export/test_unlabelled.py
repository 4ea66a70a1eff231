import json

from edgedistill.export.unlabelled import in_domain_texts


def distilled(tmp_path, augmented_variants=None, transfer_lines=None):
    """A student directory as distill leaves it: distill.json naming a transfer set, metrics.json naming the cached
    augmented set, and the student tokenizer's mask token in tokenizer_config.json."""
    student = tmp_path / "student"
    student.mkdir()
    (student / "tokenizer_config.json").write_text(json.dumps({"mask_token": "[MASK]"}))
    record, metrics = {}, {"student": {"accuracy": 0.9}}
    if transfer_lines is not None:
        transfer = tmp_path / "transfer.txt"
        transfer.write_text("".join(f"{line}\n" for line in transfer_lines))
        record["transfer"] = str(transfer)
    if augmented_variants is not None:
        augmented = tmp_path / "augmented.json"
        augmented.write_text(json.dumps({"variants": augmented_variants}))
        metrics["augment"] = {"copies": 1, "file": str(augmented)}
    (student / "distill.json").write_text(json.dumps(record))
    (student / "metrics.json").write_text(json.dumps(metrics))
    return student


def test_calibration_transfer_and_augmented_texts_less_held_out_ones_and_repeats(tmp_path):
    student = distilled(tmp_path, augmented_variants=[["a", None, "film"], ["held"], ["c1"]],
                        transfer_lines=["t1", "c1", "held", "t2"])
    texts = in_domain_texts(student, ["c1", "c2", "held"], None, {"held"})
    assert texts.texts == ["c1", "c2", "t1", "t2", "a [MASK] film"]
    assert texts.offered == {"calibration texts": 2, f"transfer set {tmp_path / 'transfer.txt'}": 2,
                             "augmented variants": 1}
    assert texts.notes == [] and texts.record()["texts"] == 5


def test_a_calibration_file_counts_in_whole_and_the_total_is_a_seeded_sample(tmp_path):
    student = distilled(tmp_path)
    calibration = tmp_path / "calibration.txt"
    calibration.write_text("".join(f"review {i}\n" for i in range(900)))
    texts = in_domain_texts(student, ["only the 200 static recipes read"], str(calibration), {"review 0"}, limit=500)
    assert len(texts.texts) == 500 == len(set(texts.texts)) and "review 0" not in texts.texts
    assert texts.offered == {"calibration texts": 899}
    assert texts.source == "calibration texts (899); a seeded sample of 500"
    assert in_domain_texts(student, [], str(calibration), {"review 0"}, limit=500).texts == texts.texts


def test_sources_left_on_another_machine_are_left_out_and_said(tmp_path):
    student = distilled(tmp_path, augmented_variants=[["v"]], transfer_lines=["t1"])
    (tmp_path / "augmented.json").unlink()
    (tmp_path / "transfer.txt").unlink()
    texts = in_domain_texts(student, ["c1"], None, set())
    assert texts.texts == ["c1"] and list(texts.offered) == ["calibration texts"]
    assert texts.notes[0].startswith("transfer set left out: ")
    assert texts.notes[1] == f"augmented variants left out: {tmp_path / 'augmented.json'} is not on this machine"
