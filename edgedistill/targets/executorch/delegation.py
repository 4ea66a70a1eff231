"""What runs inside the XNNPACK delegate and what the portable kernels still run (needs torch)."""

from __future__ import annotations

import torch

# Tuple unpacking of a delegate's outputs, not work any kernel does.
_BOOKKEEPING_OPS = {"getitem"}


def delegation_report(graph_module: torch.fx.GraphModule) -> dict:
    """Delegated subgraphs and node counts, plus per-op counts on each side of the delegate."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(graph_module)
    by_op = {op: counts for op, counts in info.delegation_by_operator.items() if op not in _BOOKKEEPING_OPS}
    return {
        "delegated_subgraphs": info.num_delegated_subgraphs,
        "delegated_nodes": sum(c.delegated for c in by_op.values()),
        "non_delegated_nodes": sum(c.non_delegated for c in by_op.values()),
        "delegated_ops": _sorted_counts({op: c.delegated for op, c in by_op.items()}),
        "non_delegated_ops": _sorted_counts({op: c.non_delegated for op, c in by_op.items()}),
    }


def kernel_ops(graph_module: torch.fx.GraphModule) -> dict[str, int]:
    """Ops the final program runs on ExecuTorch's own kernels (after quant fusion), by name."""
    names = [str(node.target) for node in graph_module.graph.nodes
             if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload)]
    return _sorted_counts({name: names.count(name) for name in set(names)})


def _sorted_counts(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(((op, n) for op, n in counts.items() if n), key=lambda item: (-item[1], item[0])))
