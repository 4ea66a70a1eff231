"""Issue 23.5's class, generated: control characters through every field a command prints that came from a file,
a registry, a board or a model; and issue 23.11's standard output that cannot be written.

Each case puts PAYLOAD (ESC sequences that clear the screen and hide what follows, CR, LF, a C1 CSI, a lone
surrogate) into one string of what a command reads, in turn every string of an index entry, a manifest, labels,
golden texts, a result file, a board's answer to `bench --ssh`, a device profile, an export report, and the paths
configs name. The value may be valid or refused ("either"): printed, it must show escaped; refused, its error is
one line. The harness fails any case whose output holds a raw control character, so a field that reached the
terminal raw fails whichever way the command ended.

Every command of the undamaged world also runs with its standard output on /dev/full: its work may be done (and
written), but what it prints cannot be, which must end in one error line, not a traceback.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.reliability.cases import (
    BENCH, BUNDLES, CHECK, CONTROLS, PREDICT, PULL, REPORT, TARGETS, Case, Damage, _replace, edit_json, in_bundle,
    set_at, toml_text, write,
)
from edgedistill.bundle.schema import SCHEMAS
from edgedistill.check.device_results import RESULT_SCHEMA
from tests.reliability.world import (
    BUNDLE, DISTILL_TOML, NAME, PROFILE_TOML, RECIPE, RECIPE_TOML, REGISTRY, RESULT, RUN, TEACH_TOML,
)

PAYLOAD = "\x1b[2J\x1b[8m\r\nforged\x9b\ud800"
SHOWN = "\\x1b[2J"  # how the payload's first characters print once escaped
BOARD = "bin"  # a folder of the workspace holding a stand-in `ssh` and the result it answers with
RESULTS = ("results", RESULT)
SSH_BENCH = (*BENCH, "--ssh", "pi@board")


# Every string of what export writes (list items by their first; `files` by one entry, the others are alike), and of
# an index entry and an export report; test_bad_input checks that the world's files hold no string outside these.
MANIFEST_STRINGS: list[tuple] = [
    ("name",), ("target",), ("runtime",), ("precision",), ("model",), ("created_at",), ("quantization", "recipe"),
    ("quantization", "description"), ("files", "labels.json", "sha256"), ("toolchain", "python"),
    ("inputs", 0, "name"), ("inputs", 0, "dtype"), ("inputs", 0, "shape", 0), ("outputs", 0, "name"),
    ("outputs", 0, "dtype"), ("outputs", 0, "shape", 0), ("sequence", "policy"), ("data", "source"),
    ("budgets", "p90_latency_ms"), ("metrics", "teacher_accuracy"), ("requirements", "libraries", 0),
    ("tokenizer", "file"), ("tokenizer", "vocab_file"), ("tokenizer", "model"), ("tokenizer", "truncation", "side"),
    ("tokenizer", "truncation", "strategy"), ("tokenizer", "padding", "side"), ("tokenizer", "padding", "strategy"),
    *(("tokenizer", "special_tokens", token, "token") for token in ("cls", "sep", "pad", "unk", "mask")),
    ("model_card", "model", "architecture"), ("model_card", "model", "distilled_from"), ("model_card", "data", "source"),
    ("model_card", "data", "test_source"), ("model_card", "data", "transfer"), ("model_card", "data", "labels", 0),
    ("model_card", "intended_use"), ("model_card", "limits", 0), ("model_card", "metrics", "split"),
    ("model_card", "metrics", "teacher_accuracy"), ("task", "kind"), ("task", "metric"), ("task", "labels", 0),
    ("task", "alignment"),
]
INDEX_ENTRY_STRINGS: list[tuple] = [("runtime",), ("target",), ("precision",), ("created_at",), ("manifest_sha256",)]
_CANDIDATE = ("runtimes", "onnxruntime", "candidates", 0)
EXPORT_REPORT_STRINGS: list[tuple] = [
    ("student",), ("profile",), ("metric",), ("runtimes", "onnxruntime", "kept"), ("runtimes", "onnxruntime", "bundle"),
    ("runtimes", "onnxruntime", "error"), *((*_CANDIDATE, key) for key in ("recipe", "precision", "description",
                                                                            "status", "reason")),
]


def string_paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """The key path of every string (and null) in a JSON value; items of a list by the first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from string_paths(item, (*path, key))
    elif isinstance(value, list):
        yield from string_paths(value[0], (*path, 0)) if value else ()
    elif value is None or isinstance(value, str):
        yield path


def schema_strings(schema: dict, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, PAYLOAD or [PAYLOAD]) for every string, list of strings or map of strings a JSON schema allows."""
    kinds = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
    for variant in schema.get("oneOf", []):
        yield from schema_strings(variant, path)
    for key, sub in schema.get("properties", {}).items():
        yield from schema_strings(sub, (*path, key))
    if "string" in kinds:
        yield path, PAYLOAD
    elif "array" in kinds and schema.get("items", {}).get("type") == "string":
        yield path, [PAYLOAD]
    elif isinstance(schema.get("additionalProperties"), dict) and schema["additionalProperties"].get("type") == "string":
        yield (*path, "python"), PAYLOAD


def _label(path: tuple) -> str:
    return ".".join(str(key) for key in path)


def _each(relative: str, paths: list[tuple], prefix: tuple = ()) -> Iterator[tuple[str, Damage]]:
    """One damage per path of the JSON file at `relative` (below `prefix`), setting it to PAYLOAD."""
    for path in paths:
        yield _label(path), edit_json(relative, lambda doc, p=(*prefix, *path): set_at(doc, p, PAYLOAD))


def _shown(workspace: Path, stdout: str) -> str | None:
    return None if SHOWN in stdout else "the payload was not printed, escaped, on stdout"


def _case(what: str, argv: tuple[str, ...], damage: Damage, **options: Any) -> Case:
    options.setdefault("expect", "either")
    return Case(f"terminal/{what}/{argv[0]}", "terminal", argv, damage, **options)


def _board_answers(edit: Callable[[dict], None]) -> Damage:
    """A stand-in `ssh` first on PATH: it swallows the bundle and answers with the world's result, edited."""
    def damage(workspace: Path) -> None:
        folder = workspace / BOARD
        folder.mkdir()
        result = json.loads((workspace / RESULT).read_text())
        edit(result)
        (folder / "answer.json").write_text(json.dumps(result))
        script = folder / "ssh"
        script.write_text('#!/bin/sh\ncat > /dev/null\ncat "$(dirname "$0")/answer.json"\necho\n')
        script.chmod(0o755)
    return damage


def terminal_cases() -> Iterator[Case]:
    for what, damage in _each(f"{REGISTRY}/index.json", INDEX_ENTRY_STRINGS, ("bundles", NAME, "1")):
        yield _case(f"index {what}", BUNDLES, damage)
    entries = lambda index: index["bundles"]  # noqa: E731
    renamed = edit_json(f"{REGISTRY}/index.json", lambda i: entries(i).update({PAYLOAD: entries(i).pop(NAME)}))
    reversioned = edit_json(f"{REGISTRY}/index.json", lambda i: entries(i)[NAME].update({PAYLOAD: entries(i)[NAME].pop("1")}))
    for argv in (BUNDLES, PULL):
        yield _case("index bundle name", argv, renamed)
        yield _case("index version", argv, reversioned)
    for what, damage in _each(f"{BUNDLE}/manifest.json", MANIFEST_STRINGS):
        for argv in (CHECK, BENCH, PREDICT):
            yield _case(f"manifest {what}", argv, damage)
    labels = edit_json(f"{BUNDLE}/labels.json", lambda doc: doc.update(labels=[PAYLOAD, "pos"]))
    golden = edit_json(f"{BUNDLE}/golden.json", lambda doc: [case.update(text=PAYLOAD) for case in doc["cases"]])
    for argv in (CHECK, BENCH, PREDICT):
        yield _case("a label", argv, in_bundle(BUNDLE, "labels.json", labels))
        yield _case("golden texts", argv, in_bundle(BUNDLE, "golden.json", golden))
    printable = PAYLOAD.replace("\ud800", "")  # what an argument or a TOML file can hold
    yield _case("a label, predicted", ("predict", BUNDLE, "a great film", "a dull film"),
                in_bundle(BUNDLE, "labels.json", edit_json(f"{BUNDLE}/labels.json", lambda doc: doc.update(
                    labels=[printable, printable + "!"]))), expect="ok", verify=_shown)
    yield _case("the text to classify", ("predict", BUNDLE, printable), write("unused", ""), expect="ok", verify=_shown)
    schema = json.loads(SCHEMAS.joinpath(RESULT_SCHEMA).read_text())
    path = os.environ.get("PATH", "")
    board = (("PATH", f"{{ws}}/{BOARD}:{path}"),)
    for where, value in schema_strings(schema):
        yield _case(f"result {_label(where)}", RESULTS, edit_json(RESULT, lambda doc, w=where, v=value: set_at(doc, w, v)))
        if where[0] == "device":
            yield _case(f"the board's {_label(where)}", SSH_BENCH,
                        _board_answers(lambda doc, w=where, v=value: set_at(doc, w, v)), env=board)
    yield _case("the board's hostname, shown", SSH_BENCH,
                _board_answers(lambda doc: doc["device"].update(hostname=printable)), env=board, expect="ok",
                verify=_shown)
    profile = tomllib.loads(PROFILE_TOML)
    for where in string_paths(profile):
        edited = json.loads(json.dumps(profile))
        set_at(edited, where, printable)
        yield _case(f"profile {_label(where)}", TARGETS, write("profiles/tiny-host.toml", toml_text(edited)),
                    env=(("EDGEDISTILL_TARGETS", "{ws}/profiles"),))
    for what, damage in _each(f"{RUN}/bundles/tiny-host/export_report.json", EXPORT_REPORT_STRINGS):
        yield _case(f"export report {what}", REPORT, damage, allowed=("report-out",))
    for stage, text, key in (("teach", TEACH_TOML, "base"), ("distill", DISTILL_TOML, "teacher")):
        config = tomllib.loads(text)
        config[key] = printable
        yield _case(f"{stage} config {key}", (stage, "--config", f"{stage}.toml"), write(f"{stage}.toml", toml_text(config)))
    recipe = tomllib.loads(RECIPE_TOML)
    recipe["teacher"] = printable
    yield _case("recipe teacher", ("run", RECIPE), write(RECIPE, toml_text(recipe)))
    yield _case("a --registry path", _replace(BUNDLES, "--registry", printable), write("unused", ""))


def stdout_cases() -> Iterator[Case]:
    for control in CONTROLS:
        # Not export (a real conversion: minutes, for what every other command shows), nor run (all on stderr).
        if control.command not in ("export", "run"):
            yield Case(f"stdout/a full disk/{control.name.removeprefix('control/')}", "stdout", control.argv,
                       control.damage, control.env, allowed=control.allowed, stdout="/dev/full")
    yield Case("stdout/a full disk/manifest-schema", "stdout", ("manifest-schema",), stdout="/dev/full")
