"""Specs that stress block expansion: deep nesting, fan-out, parameter bombs.

Shared by tests/test_blocks.py and benchmarks/validate_speed.py.
"""

from __future__ import annotations


def nested_spec(depth: int, repeat: int) -> str:
    """`repeat` copies of a block holding a block ... `depth` deep, a dense layer at the bottom."""
    lines = ["specc: 1", "name: nested", "inputs:", "  - {name: x, shape: [8]}", "blocks:"]
    for level in range(depth):
        inner = f"{{name: i, block: b{level + 1}}}"
        if level == depth - 1:
            inner = "{name: d, op: dense, units: 8}"
        lines += [f"  b{level}:", "    layers:", f"      - {inner}"]
    lines += ["layers:", f"  - {{name: top, block: b0, repeat: {repeat}}}"]
    return "\n".join(lines) + "\n"


def fan_out_spec(depth: int) -> str:
    """Each block holds two instances of the next: 2^depth layers, far past the cap (E204)."""
    lines = ["specc: 1", "name: fan", "inputs:", "  - {name: x, shape: [8]}", "blocks:"]
    for level in range(depth):
        lines += [f"  b{level}:", "    layers:"]
        if level == depth - 1:
            lines.append("      - {name: d, op: dense, units: 8}")
        else:
            lines += [f"      - {{name: i{k}, block: b{level + 1}}}" for k in (1, 2)]
    lines += ["layers:", "  - {name: top, block: b0}"]
    return "\n".join(lines) + "\n"


def parameter_bomb_spec(depth: int, params: int) -> str:
    """Each level passes its parameters on shifted by one: 2^params distinct copies per level."""
    names = [f"p{j}" for j in range(params)]
    lines = ["specc: 1", "name: bomb", "inputs:", "  - {name: x, shape: [8]}", "blocks:"]
    for level in range(depth):
        declared = ", ".join(f"{p}: 1" for p in names)
        lines += [f"  b{level}:", f"    params: {{{declared}}}", "    layers:"]
        if level == depth - 1:
            lines.append("      - {name: d, op: dense, units: $p0}")
            continue
        shifted = ", ".join(f"{names[j]}: ${names[j + 1]}" for j in range(params - 1))
        for value in (1, 2):
            instance = f"name: i{value}, block: b{level + 1}, {shifted}, {names[-1]}: {value}"
            lines.append(f"      - {{{instance}}}")
    lines += ["layers:", "  - {name: top, block: b0}"]
    return "\n".join(lines) + "\n"
