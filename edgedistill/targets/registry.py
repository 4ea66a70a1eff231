"""Name → Target registry. Importing it imports no torch.

The built-in backends are listed here; another package adds one through the `edgedistill.targets`
entry-point group (`name = "package.module:TARGET"`, a Target instance), with no edit to edgedistill.
"""

from __future__ import annotations

import dataclasses
import importlib
from importlib import metadata

from edgedistill.errors import UserError
from edgedistill.profiles import DeviceProfile, read_profile
from edgedistill.targets.base import Target
from edgedistill.typed_config import from_mapping

ENTRY_POINT_GROUP = "edgedistill.targets"
# Backends register lazily by module path so a device imports only the runtime it uses.
_BUILTIN = {
    "onnxruntime": "edgedistill.targets.onnxruntime:TARGET",
    "executorch": "edgedistill.targets.executorch:TARGET",
    "tflite": "edgedistill.targets.tflite:TARGET",
}


def _backends() -> dict[str, str]:
    """Runtime name -> "module:attribute"; a built-in name cannot be taken over by a plug-in."""
    plugins = {entry.name: entry.value for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return {**plugins, **_BUILTIN}


def runtime_names() -> list[str]:
    return sorted(_backends())


def get_target(name: str) -> Target:
    """The backend registered as `name`; unknown names list the valid ones."""
    backends = _backends()
    if name not in backends:
        raise UserError(f"unknown runtime {name!r}; available: {', '.join(sorted(backends))}")
    module_name, _, attribute = backends[name].partition(":")
    target = getattr(importlib.import_module(module_name), attribute or "TARGET")
    if not isinstance(target, Target) or target.name != name:
        raise UserError(f"the {ENTRY_POINT_GROUP} entry {name!r} ({backends[name]}) is not a Target named {name!r}")
    return target


def resolve_profile(profile: DeviceProfile, where: str) -> DeviceProfile:
    """Check every runtime the profile lists is registered and type its options table by that backend."""
    options = {}
    for runtime in profile.runtimes:
        target = get_target(runtime)
        table = profile.runtime_options.get(runtime, {})
        if target.options_type is None:
            options[runtime] = table
        elif isinstance(table, target.options_type):
            options[runtime] = table
        else:
            options[runtime] = from_mapping(target.options_type, table, f"{where} [{runtime}]")
    return dataclasses.replace(profile, runtime_options=options)


def load_profile(name_or_path: str) -> DeviceProfile:
    """A device profile by name or path, its runtimes checked and their options typed."""
    profile, where = read_profile(name_or_path)
    return resolve_profile(profile, where)


def with_converter(profile: DeviceProfile, converter: str | None) -> DeviceProfile:
    """Override the `converter` option of the runtimes that have one (the TFLite backend)."""
    if converter is None:
        return profile
    options = dict(profile.runtime_options)
    chosen = [name for name, value in options.items()
              if dataclasses.is_dataclass(value) and "converter" in {f.name for f in dataclasses.fields(value)}]
    if not chosen:
        raise UserError(f"--converter applies to runtimes with a converter choice (tflite); "
                        f"profile {profile.name} has none")
    for name in chosen:
        options[name] = from_mapping(type(options[name]), {**dataclasses.asdict(options[name]), "converter": converter},
                                     f"--converter for {name}")
    return dataclasses.replace(profile, runtime_options=options)
