"""A layer's `ignore: [CODE, ...]`: warnings located in that layer's mapping are not reported.

Only warnings can be ignored: an error means the spec cannot be built. A code
in `ignore:` that is no warning code, or that suppresses nothing in a spec
without errors, is itself a warning (W109), so a stale suppression does not
outlive the setting it was written for.
"""

from __future__ import annotations

from .diagnostics import BACKEND_CODES, CODES, Diagnostic, Diagnostics, Span, escape
from .loader import YamlMap, YamlScalar, YamlSeq


def _layer_maps(root) -> list[YamlMap]:
    """The mappings of the top-level layers and of every block's layers."""
    found = []
    layers = root.get("layers") if isinstance(root, YamlMap) else None
    found += layers.items if isinstance(layers, YamlSeq) else []
    blocks = root.get("blocks") if isinstance(root, YamlMap) else None
    for _, block in blocks.entries.values() if isinstance(blocks, YamlMap) else ():
        inner = block.get("layers") if isinstance(block, YamlMap) else None
        found += inner.items if isinstance(inner, YamlSeq) else []
    return [item for item in found if isinstance(item, YamlMap)]


def _inside(span: Span | None, region: Span) -> bool:
    if span is None or span.file != region.file:
        return False
    start = (span.line, span.column)
    return (region.line, region.column) <= start < (region.end_line, region.end_column)


def _known_warnings() -> set[str]:
    from .backend import installed_backends

    installed_backends()  # registers the backends' lint codes
    return {code for code in (*CODES, *BACKEND_CODES) if code.startswith("W")}


def apply_ignores(root, diags: Diagnostics) -> list[Diagnostic]:
    """The sorted diagnostics, less those a layer ignores, plus W109 for bad entries."""
    entries: list[tuple[YamlMap, list[YamlScalar]]] = []
    for layer in _layer_maps(root):
        node = layer.get("ignore")
        if isinstance(node, YamlSeq):
            codes = [item for item in node.items if isinstance(item, YamlScalar)]
            entries.append((layer, [c for c in codes if isinstance(c.value, str)]))
    if not entries:
        return diags.sorted()
    known = _known_warnings()
    used: set[int] = set()
    kept = []
    for d in diags.items:
        hit = None
        if not d.is_error:
            for layer, codes in entries:
                if _inside(d.span, layer.span):
                    hit = next((c for c in codes if c.value == d.code), None)
                    if hit is not None:
                        break
        if hit is None:
            kept.append(d)
        else:
            used.add(id(hit))
    bad = Diagnostics()
    had_errors = diags.has_errors
    for layer, codes in entries:
        name = layer.get("name")
        what = f"layer `{escape(name.value)}`" if isinstance(name, YamlScalar) else "this layer"
        for code in codes:
            value = escape(code.value)
            if code.value in known:
                if id(code) in used or had_errors:
                    continue  # with errors, the later checks (lints) may not have run
                bad.warning(
                    "W109",
                    f"`{value}` in `ignore` of {what} suppresses nothing",
                    code.span,
                    help=f"remove `{value}`: no `{value}` warning is reported in this layer",
                )
            elif code.value in CODES or code.value in BACKEND_CODES:
                bad.warning(
                    "W109",
                    f"`{value}` in `ignore` of {what} is an error, which cannot be ignored",
                    code.span,
                    help="only warnings (W codes) can be ignored; fix the error instead",
                )
            else:
                bad.warning(
                    "W109",
                    f"`{value}` in `ignore` of {what} is no code specc reports",
                    code.span,
                    help="the codes are listed in docs/diagnostics.md",
                )
    return sorted(kept + bad.items, key=Diagnostic.sort_key)
