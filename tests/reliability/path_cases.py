"""Issue 23's classes, generated: names that would become paths, links at every position, outputs that overlap an
input, and a user's files beside the registry's scratch.

- names: every field that names a file or folder (profile, recipe, run, bundle and key names, versions) given each
  hostile value; the command ends in one error line and the victims planted where the name would lead are untouched.
- links: the root the user named, or a folder above it, is a link: followed, and the command succeeds there;
  a link anywhere inside the folder the command manages: refused before anything is written.
- overlaps: each command's output is, lies inside or holds one of its inputs: refused, nothing written.
- debris: files and folders of a user's, named like the registry's scratch, survive publish; only what a killed
  publisher recorded is swept.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from edgedistill.bundle.stores.directory import SCRATCH_RECORD
from edgedistill.fsutil import ScratchRecord
from tests.reliability.cases import (
    BENCH, DISTILL, EXPORT, KEYGEN, PRUNE, PUBLISH, PULL, REPORT, RUN_RECIPE, TARGETS, TEACH, Case,
    Damage, Verify, _replace, edit_json, link_outside, remove, then, write,
)
from tests.reliability.world import BUNDLE, NAME, PROFILE_NAME, PROFILE_TOML, PULLED, RECIPE, RECIPE_TOML, REGISTRY, RUN

REAL = "real"  # where a case puts what a link the user named leads to (inside the workspace, so its writes are seen)
LINKED = "linked"  # a link to REAL, named as a folder above a command's output
VICTIM = "victim"  # a user's folder where a hostile name would lead: their reports and a pulled bundle
# {case} is the case's folder (expanded in argv by the harness, in files by `_expand`): an absolute path outside.
HOSTILE = [("../x", "../../../victim"), ("/abs", "{case}/outside/victim"), ("a/b", "a/b"), (".", "."), ("..", ".."),
           ("empty", ""), ("newline", "a\nb"), ("NUL", "a\x00b"), ("a trailing newline", "tiny-host\n"),
           ("hidden", ".hidden"), ("a space", "a b")]


def _expand(value: str, workspace: Path) -> str:
    return value.replace("{case}", str(workspace.parent))


# ---------------------------------------------------------------- names


def _victims(workspace: Path) -> None:
    """A user's run-like folder where `../../../victim` leads from RUN/bundles (the workspace) and where the
    absolute name leads (outside it): their own reports and a pulled bundle, which a run must never touch."""
    for folder in (workspace / VICTIM, workspace.parent / "outside" / VICTIM):
        folder.mkdir(parents=True)
        (folder / "export_report.json").write_text('{"mine": true}\n')
        (folder / "checks.json").write_text('{"mine": true}\n')
        shutil.copytree(workspace / RUN / "bundles" / PROFILE_NAME / NAME, folder / NAME)


def _profile_named(value: str, relative: str = "profile.toml") -> Damage:
    def damage(workspace: Path) -> None:
        named = PROFILE_TOML.replace(f'name = "{PROFILE_NAME}"', f"name = {json.dumps(_expand(value, workspace))}")
        write(relative, named)(workspace)
    return damage


def _recipe_named(value: str) -> Damage:
    def damage(workspace: Path) -> None:
        write(RECIPE, RECIPE_TOML.replace('name = "tiny"', f"name = {json.dumps(_expand(value, workspace))}"))(workspace)
    return damage


def _bundle_named(value: str) -> Damage:
    def damage(workspace: Path) -> None:
        edit_json(f"{BUNDLE}/manifest.json", lambda m: m.update(name=_expand(value, workspace)))(workspace)
    return damage


def name_cases() -> Iterator[Case]:
    for label, value in HOSTILE:
        profile = _profile_named(value)
        yield Case(f"names/profile name {label}/export", "names", EXPORT, profile)
        yield Case(f"names/profile name {label}/run", "names", RUN_RECIPE, then(profile, _victims))
        yield Case(f"names/profile name {label}/targets", "names", TARGETS,
                   _profile_named(value, f"profiles/{PROFILE_NAME}.toml"), env=(("EDGEDISTILL_TARGETS", "{ws}/profiles"),))
        yield Case(f"names/--target {label}/export", "names", _replace(EXPORT, "--target", value))
        yield Case(f"names/--calibration set {label}/export", "names", (*EXPORT, "--calibration", value))
        yield Case(f"names/recipe name builtin:{label}/run", "names", ("run", f"builtin:{value}"))
        yield Case(f"names/run name {label}/run", "names", RUN_RECIPE, then(_recipe_named(value), _victims))
        yield Case(f"names/bundle name {label}/publish", "names", PUBLISH, _bundle_named(value))
        yield Case(f"names/bundle name {label}/pull", "names", ("pull", value, *PULL[2:]))
        yield Case(f"names/version {label}/publish", "names", (*PUBLISH, "--version", value))
        yield Case(f"names/version {label}/pull", "names", ("pull", f"{NAME}@{value}", *PULL[2:]))
        yield Case(f"names/key name {label}/keygen", "names", (*KEYGEN, "--name", value))
    # A bundle is named after its student's folder: one that cannot name a folder is refused before converting.
    for label, folder in (("hidden", ".student"), ("a dash", "-student"), ("a space", "my student"),
                          ("newline", "stu\ndent")):
        yield Case(f"names/student folder {label}/export", "names", ("export", f"./{folder}", *EXPORT[2:]),
                   lambda ws, f=folder: (ws / "student").rename(ws / f))
    yield Case("names/student folder '.'/export", "names", ("export", ".", "--target", "../profile.toml", "--out",
                                                            "../bundles"), cwd="student")


# ---------------------------------------------------------------- links


def _behind_link(relative: str, make: bool = False) -> Damage:
    """`relative` becomes a link the user made to REAL/relative (the folder moved there, or made empty)."""
    def damage(workspace: Path) -> None:
        path, target = workspace / relative, workspace / REAL / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if make:
            target.mkdir()
        else:
            shutil.move(path, target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    return damage


def _under_linked_folder(relative: str | None = None) -> Damage:
    """LINKED is a link to REAL, holding `relative` (moved there) if given."""
    def damage(workspace: Path) -> None:
        (workspace / REAL).mkdir(exist_ok=True)
        if relative is not None:
            shutil.move(workspace / relative, workspace / REAL / relative)
        (workspace / LINKED).symlink_to(workspace / REAL)
    return damage


def _link_to_nothing(relative: str) -> Damage:
    """`relative` is a link to a path outside that does not exist (a write through it would create it)."""
    def damage(workspace: Path) -> None:
        (workspace / relative).parent.mkdir(parents=True, exist_ok=True)
        (workspace / relative).symlink_to(workspace.parent / "outside" / "planted")
    return damage


def _files_at(*relative: str) -> Verify:
    def verify(workspace: Path, stdout: str) -> str | None:
        missing = [path for path in relative if not (workspace / path).is_file()]
        return f"not written: {missing}" if missing else None
    return verify


def _published_at(registry: str) -> Verify:
    def verify(workspace: Path, stdout: str) -> str | None:
        versions = json.loads((workspace / registry / "index.json").read_text())["bundles"][NAME]
        missing = [path for path in (f"{registry}/{NAME}/2/manifest.json",) if not (workspace / path).is_file()]
        return None if sorted(versions) == ["1", "2"] and not missing else f"versions {sorted(versions)}, missing {missing}"
    return verify


def _ok(name: str, argv: tuple[str, ...], damage: Damage, verify: Verify, slow: bool = False) -> Case:
    return Case(f"links/{name}", "links", argv, damage, expect="ok", allowed=(REAL,), verify=verify, slow=slow)


def followed_link_cases() -> Iterator[Case]:
    """The root the user named, or a folder above it, is a link: it is followed and the command succeeds."""
    redo_report = remove(f"{REAL}/{RUN}/report/index.html")
    for where, argv, damage, real in [
        ("the registry is a link", PUBLISH, _behind_link(REGISTRY), REGISTRY),
        ("a folder above the registry is a link", _replace(PUBLISH, "--registry", f"{LINKED}/{REGISTRY}"),
         _under_linked_folder(REGISTRY), REGISTRY),
    ]:
        yield _ok(f"{where}/publish", argv, damage, _published_at(f"{REAL}/{real}"))
    outputs = {"pull": (PULL, "app-model", "manifest.json"), "keygen": (KEYGEN, "keys", "edgedistill-signing.pub"),
               "prune-vocab": (PRUNE, "pruned", "tokenizer.json"), "report": (REPORT, "report-out", "index.html"),
               "teach": (TEACH, "teacher-out", "metrics.json"), "distill": (DISTILL, "student-out", "metrics.json"),
               "export": (EXPORT, "bundles", "export_report.json")}
    for command, (argv, out, written) in outputs.items():
        slow = command == "export"  # a real conversion
        yield _ok(f"--out is a link to an empty folder/{command}", argv, _behind_link(out, make=True),
                  _files_at(f"{REAL}/{out}/{written}"), slow)
        yield _ok(f"a folder above --out is a link/{command}", _replace(argv, "--out", f"{LINKED}/{out}"),
                  _under_linked_folder(), _files_at(f"{REAL}/{out}/{written}"), slow)
    yield _ok("--out is a link to a file yet to be written/bench", (*BENCH, "--out", "result.json"),
              lambda ws: ((ws / REAL).mkdir(), (ws / "result.json").symlink_to(ws / REAL / "result.json")),
              _files_at(f"{REAL}/result.json"))
    # The run's report stage runs again, through the link, into the finished run behind it.
    yield _ok("the run folder is a link/run", RUN_RECIPE, then(_behind_link(RUN), redo_report),
              _files_at(f"{REAL}/{RUN}/report/index.html"))
    yield _ok("runs/ is a link/run", RUN_RECIPE, then(_behind_link("runs"), redo_report),
              _files_at(f"{REAL}/{RUN}/report/index.html"))
    yield _ok("a folder above --out is a link/run", (*RUN_RECIPE, "--out", f"{LINKED}/tiny"),
              then(_under_linked_folder(), lambda ws: shutil.move(ws / RUN, ws / REAL / "tiny"),
                   remove(f"{REAL}/tiny/report/index.html")),
              _files_at(f"{REAL}/tiny/report/index.html"))
    # With distill's record gone, distill, export, check and report run again, into the linked run folder.
    yield _ok("the run folder is a link, every stage reruns/run", RUN_RECIPE,
              then(_behind_link(RUN), remove(f"{REAL}/{RUN}/stages/distill.json")),
              _files_at(f"{REAL}/{RUN}/tiny-student/distill.json", f"{REAL}/{RUN}/report/index.html"), slow=True)


def managed_link_cases() -> Iterator[Case]:
    """A link inside a folder the command manages: refused before anything is written."""
    bundle_dir = f"{RUN}/bundles/{PROFILE_NAME}"
    inside = {
        "publish": [link_outside(f"{REGISTRY}/index.json"), _link_to_nothing(f"{REGISTRY}/{NAME}/2"),
                    _link_to_nothing(f"{REGISTRY}/{SCRATCH_RECORD}")],
        "pull": [then(lambda ws: shutil.copytree(ws / PULLED, ws / "app-model"), link_outside("app-model/labels.json"))],
        "keygen": [_link_to_nothing("keys/edgedistill-signing.pub"), _link_to_nothing("keys/edgedistill-signing.key")],
        "run": [link_outside(f"{RUN}/bundles"), link_outside(bundle_dir), link_outside(f"{RUN}/stages"),
                link_outside(f"{RUN}/stages/report.json"), _link_to_nothing(f"{RUN}/stages/lock"),
                link_outside(f"{RUN}/tiny-student"), _link_to_nothing(f"{RUN}/.tiny-student.checkpoint"),
                link_outside(f"{RUN}/report"), link_outside(f"{RUN}/report/index.html"),
                link_outside(f"{bundle_dir}/export_report.json"), link_outside(f"{bundle_dir}/checks.json"),
                link_outside(f"{bundle_dir}/{NAME}/labels.json")],
        "export": [_link_to_nothing("bundles/export_report.json"), _link_to_nothing("bundles/student-onnxruntime-fp32")],
        "prune-vocab": [then(lambda ws: shutil.copytree(ws / "student", ws / "pruned"), link_outside("pruned/config.json"))],
        "report": [_link_to_nothing("report-out/index.html")],
        "teach": [_link_to_nothing(".teacher-out.checkpoint")],
        "distill": [_link_to_nothing(".student-out.checkpoint")],
    }
    argv = {"publish": PUBLISH, "pull": PULL, "keygen": KEYGEN, "run": RUN_RECIPE, "export": EXPORT, "prune-vocab": PRUNE,
            "report": REPORT, "teach": TEACH, "distill": DISTILL}
    for command, damages in inside.items():
        for number, damage in enumerate(damages, start=1):
            yield Case(f"links/a link inside the folder it manages #{number}/{command}", "links", argv[command], damage)


# ---------------------------------------------------------------- outputs that overlap an input


def _written_model_dir(relative: str) -> Damage:
    """Make `relative` (a base encoder) look like a folder teach wrote, which teach would replace if asked to."""
    def damage(workspace: Path) -> None:
        (workspace / relative / "labels.json").write_text('{"labels": ["neg", "pos"]}')
        (workspace / relative / "metrics.json").write_text("{}")
    return damage


def overlap_cases() -> Iterator[Case]:
    published = f"{REGISTRY}/{NAME}/1"
    owned_base = _written_model_dir("base")
    overlaps: list[tuple[str, tuple[str, ...], Damage | None]] = [
        ("is the base", _replace(TEACH, "--out", "base"), owned_base),
        ("lies inside the base", _replace(TEACH, "--out", "base/teacher"), owned_base),
        ("holds the data", _replace(TEACH, "--out", "data"), None),
        ("is the data file", _replace(TEACH, "--out", "data/train.csv"), None),
        ("is the teacher", _replace(DISTILL, "--out", "teacher"), None),
        ("lies inside the teacher", _replace(DISTILL, "--out", "teacher/student"), None),
        ("holds the teacher", _replace(DISTILL, "--out", "."), None),
        ("holds the transfer set", (*_replace(DISTILL, "--out", "data"), "--transfer", "data/transfer.txt"), None),
        ("is the student base", (*_replace(DISTILL, "--out", "base"), "--student-base", "base"),
         lambda ws: shutil.copytree(ws / "teacher", ws / "base")),
        ("is the student", _replace(EXPORT, "--out", "student"), None),
        ("lies inside the student", _replace(EXPORT, "--out", "student/bundles"), None),
        ("holds the student", _replace(EXPORT, "--out", "."), None),
        ("holds the calibration set", (*_replace(EXPORT, "--out", "data"), "--calibration", "data/transfer.txt"), None),
        ("is the student", _replace(PRUNE, "--out", "student"), None),
        ("lies inside the student", _replace(PRUNE, "--out", "student/pruned"), None),
        ("holds the student", _replace(PRUNE, "--out", "."), None),
        ("is the registry", _replace(PULL, "--out", REGISTRY), None),
        ("lies inside the registry", _replace(PULL, "--out", published), None),
        ("holds the registry", _replace(PULL, "--out", "."), None),
        ("is the bundle", _replace(PUBLISH, "--registry", BUNDLE), None),
        ("lies inside the bundle", _replace(PUBLISH, "--registry", f"{BUNDLE}/registry"), None),
        ("holds the bundle", ("publish", published, "--registry", REGISTRY), None),
        ("is the run folder", _replace(REPORT, "--out", RUN), None),
        ("holds the run folder", _replace(REPORT, "--out", "runs"), None),
        ("holds the recipe and the data", (*RUN_RECIPE, "--out", "."), None),
        ("is the teacher", (*RUN_RECIPE, "--out", "teacher"), None),
        ("lies inside the teacher", (*RUN_RECIPE, "--out", "teacher/run"), None),
        ("lies inside the bundle", (*BENCH, "--out", f"{BUNDLE}/result.json"), None),
    ]
    for what, argv, damage in overlaps:
        flag = "--registry" if argv[0] == "publish" else "--out"
        yield Case(f"overlaps/{flag} {what}/{argv[0]}", "overlaps", argv, damage or (lambda ws: None))
    # A report only adds index.html, and reads only export reports: its own folder inside the run is where run puts it.
    yield Case("overlaps/--out lies inside the run folder/report", "overlaps", _replace(REPORT, "--out", f"{RUN}/report"),
               expect="ok", allowed=(f"{RUN}/report",))


# ---------------------------------------------------------------- a user's files beside the registry's scratch


# Named as this tool names its scratch (the last three exactly so), but made by the user: never swept.
USER_DEBRIS = [f"{REGISTRY}/.index.json.old-20250101", f"{REGISTRY}/{NAME}/.1.old-backup01/model.onnx",
               f"{REGISTRY}/.index.json.partial-abcdefgh", f"{REGISTRY}/{NAME}/.2.partial-k2j4h6l8/model.onnx",
               f"{REGISTRY}/{NAME}/.1.old-a_b3c4d5/notes.txt"]
# What a publisher killed mid-write leaves: its scratch folder and index file, listed in its record.
KILLED_SCRATCH = [f"{REGISTRY}/{NAME}/.2.partial-q1w2e3r4", f"{REGISTRY}/.index.json.partial-z9y8x7w6"]


def _plant(paths: list[str]) -> Damage:
    def damage(workspace: Path) -> None:
        for relative in paths:
            (workspace / relative).parent.mkdir(parents=True, exist_ok=True)
            (workspace / relative).write_text("planted\n")
    return damage


def _killed_publisher(workspace: Path) -> None:
    folder, index = (workspace / path for path in KILLED_SCRATCH)
    folder.mkdir()
    (folder / "half.onnx").write_bytes(b"half a model")
    index.write_text('{"bun')
    record = ScratchRecord(workspace / REGISTRY / SCRATCH_RECORD)
    record.add(folder)
    record.add(index)
    with open(workspace / REGISTRY / SCRATCH_RECORD, "a", encoding="utf-8") as listed:  # names no publisher makes
        listed.write('"../data/train.csv"\n"../../outside/secret.txt"\n"/etc/hostname"\n')


def _debris_kept(workspace: Path, stdout: str) -> str | None:
    gone = [path for path in USER_DEBRIS if not (workspace / path).is_file()]
    return f"a user's files were swept: {gone}" if gone else None


def _swept(workspace: Path, stdout: str) -> str | None:
    left = [path for path in KILLED_SCRATCH if (workspace / path).exists()]
    if left or (workspace / REGISTRY / SCRATCH_RECORD).exists():
        return f"a killed publisher's scratch was left: {left}"
    return _debris_kept(workspace, stdout)


def debris_cases() -> Iterator[Case]:
    for argv in (PUBLISH, (*PUBLISH, "--version", "2")):
        label = " ".join(argv[4:]) or "the next version"
        yield Case(f"debris/a user's files named like scratch survive ({label})/publish", "debris", argv,
                   _plant(USER_DEBRIS), expect="ok", allowed=(REGISTRY,), verify=_debris_kept)
    yield Case("debris/only what a killed publisher recorded is swept/publish", "debris", PUBLISH,
               then(_plant(USER_DEBRIS), _killed_publisher), expect="ok", allowed=(REGISTRY,), verify=_swept)


def path_cases() -> list[Case]:
    return [*name_cases(), *followed_link_cases(), *managed_link_cases(), *overlap_cases(), *debris_cases()]
