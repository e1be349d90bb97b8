"""`specc graph`: the layer graph drawn as Mermaid, Graphviz DOT, SVG or a self-contained HTML page.

What is drawn is what the model keeps: the inputs and the layers whose result
reaches an output (`ModelGraph.live`), and the edges between them. Every node
shows its name, op and output shape (SVG and HTML: its parameter counts too);
every edge carries the shape it passes. Layers expanded from a block instance
are drawn inside a cluster named after the outermost instance; a recurrent
layer's state port (`enc.h`, op `state`) is a small rounded node. An edge that
skips one or more rows of the layering (a skip connection) is dashed.

SVG and HTML need no Graphviz: the layout here is the classic layered one
(Sugiyama et al., 1981) in a few lines: longest-path ranks (an input sits just
above its first reader), a dummy node per row a long edge crosses, barycentre
ordering with a few down and up sweeps (the order with the fewest crossings
kept, a block's layers kept together), and x coordinates that stay as close
as possible to the neighbours' mean without overlapping (pool adjacent
violators, row by row).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from xml.sax.saxutils import escape as _xml_escape

from .graph import ModelGraph
from .ir import Node
from .shapes import show
from .shares import root_of
from .states import STATE

FORMATS = ("mermaid", "dot", "svg", "html")

# Sizes in SVG user units (px). Text is monospace so that a label's width is known.
FONT = 12
SMALL = 10
CHAR = 7.3  # width of one monospace character at FONT
SMALL_CHAR = 6.1
LINE = 16
SMALL_LINE = 13
PAD = 8
NODE_GAP = 28  # between boxes in a row
ROW_GAP = 56  # between rows: room for the edge labels
DUMMY_WIDTH = 10
CLUSTER_PAD = 10
CLUSTER_LABEL = 16
MARGIN = 24
SWEEPS = 4


def render(model: ModelGraph, fmt: str) -> str:
    """The drawing of a checked graph in one of FORMATS."""
    if fmt == "mermaid":
        return to_mermaid(model)
    if fmt == "dot":
        return to_dot(model)
    if fmt == "svg":
        return to_svg(model)
    if fmt == "html":
        return to_html(model)
    raise ValueError(f"unknown format {fmt!r}")


# --- what is drawn -----------------------------------------------------------------


def drawn_nodes(model: ModelGraph) -> list[Node]:
    """The nodes the drawing shows, in graph order: those the model keeps."""
    return [n for n in model.order if n.name in model.live]


def drawn_edges(model: ModelGraph) -> list[tuple[str, str]]:
    """The edges between drawn nodes, in graph order of their targets, then inputs."""
    live = model.live
    edges = []
    for node in model.order:
        if node.name not in live:
            continue
        seen = set()
        for source in node.inputs:
            if source in live and source not in seen and model.graph.has_edge(source, node.name):
                seen.add(source)
                edges.append((source, node.name))
    return edges


def cluster_of(node: Node) -> tuple[str, str] | None:
    """(instance, block) of the outermost block instance a layer was expanded from."""
    origin = node.origin
    if not origin:
        return None
    outer = origin[-1]
    instance = getattr(outer, "instance", "") or outer.message
    return (instance, getattr(outer, "block", ""))


def cluster_label(key: tuple[str, str]) -> str:
    instance, block = key
    return f"{instance} ({block})" if block else instance


def op_label(node: Node) -> str:
    shared = root_of(node)
    return node.op if shared is None else f"{node.op} (shares {shared})"


def params_label(node: Node) -> str:
    """`12,345 params`, or each backend's count where they differ."""
    params = node.meta.get("params") or {}
    if not params:
        return ""
    counts = sorted(params.items())
    if len({c for _, c in counts}) == 1:
        return f"{counts[0][1]:,} params"
    return " / ".join(f"{b} {c:,}" for b, c in counts)


def ranks(model: ModelGraph) -> dict[str, int]:
    """Longest-path layering; an input sits one row above its first reader."""
    nodes = drawn_nodes(model)
    edges = drawn_edges(model)
    preds: dict[str, list[str]] = {n.name: [] for n in nodes}
    succs: dict[str, list[str]] = {n.name: [] for n in nodes}
    for source, target in edges:
        preds[target].append(source)
        succs[source].append(target)
    rank: dict[str, int] = {}
    for node in nodes:  # graph order is topological
        rank[node.name] = max((rank[p] + 1 for p in preds[node.name]), default=0)
    for node in nodes:
        if node.op == "input" and succs[node.name]:
            rank[node.name] = min(rank[s] for s in succs[node.name]) - 1
    return rank


def skip_edges(model: ModelGraph) -> set[tuple[str, str]]:
    """The edges that span more than one row of the layering."""
    rank = ranks(model)
    return {(s, t) for s, t in drawn_edges(model) if rank[t] - rank[s] > 1}


# --- Mermaid ------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: entity codes for what Mermaid or HTML would read."""
    out = []
    for char in text:
        if char in '"#<>&`':
            out.append(f"#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def to_mermaid(model: ModelGraph) -> str:
    """A `flowchart TB` that GitHub renders as is (ids `n0`, `n1`, ...; labels quoted)."""
    nodes = drawn_nodes(model)
    ids = {n.name: f"n{i}" for i, n in enumerate(nodes)}
    skips = skip_edges(model)
    lines = [f"%% specc graph: {model.name}", "flowchart TB"]

    def node_line(node: Node, indent: str) -> str:
        ident = ids[node.name]
        shape = show(node.meta["shape"])
        if node.op == STATE:
            return f'{indent}{ident}(["{_mermaid_text(node.name)}<br/>{_mermaid_text(shape)}"])'
        label = "<br/>".join(_mermaid_text(t) for t in (node.name, op_label(node), shape))
        if node.op == "input":
            return f'{indent}{ident}[/"{label}"/]'
        return f'{indent}{ident}["{label}"]'

    clusters: dict[tuple[str, str], list[Node]] = {}
    for node in nodes:
        key = cluster_of(node)
        if key is None:
            lines.append(node_line(node, "    "))
        else:
            clusters.setdefault(key, []).append(node)
    for index, (key, members) in enumerate(clusters.items()):
        lines.append(f'    subgraph c{index}["{_mermaid_text(cluster_label(key))}"]')
        lines += [node_line(node, "        ") for node in members]
        lines.append("    end")
    for source, target in drawn_edges(model):
        shape = _mermaid_text(show(model.node(source).meta["shape"]))
        arrow = "-.->" if (source, target) in skips else "-->"
        lines.append(f'    {ids[source]} {arrow}|"{shape}"| {ids[target]}')
    for node in nodes:
        if node.op == STATE:
            lines.append(f"    class {ids[node.name]} state")
    lines.append("    classDef state font-size:10px")
    return "\n".join(lines) + "\n"


# --- Graphviz DOT -------------------------------------------------------------------


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(model: ModelGraph) -> str:
    """Graphviz source (`dot -Tsvg`): boxes, block clusters, dashed skip edges."""
    nodes = drawn_nodes(model)
    skips = skip_edges(model)
    lines = [
        f"digraph {_dot_string(model.name)} {{",
        "    rankdir=TB;",
        '    node [shape=box, style="rounded", fontname="monospace", fontsize=11];',
        '    edge [fontname="monospace", fontsize=9];',
    ]

    def node_line(node: Node, indent: str) -> str:
        shape = show(node.meta["shape"])
        if node.op == STATE:
            label = f"{node.name}\n{shape}"
            attrs = f"label={_dot_string(label)}, shape=ellipse, fontsize=9"
            return f"{indent}{_dot_string(node.name)} [{attrs}];"
        label = f"{node.name}\n{op_label(node)}\n{shape}"
        params = params_label(node)
        if params and node.op != "input":
            label += f"\n{params}"
        extra = ", shape=invhouse" if node.op == "input" else ""
        return f"{indent}{_dot_string(node.name)} [label={_dot_string(label)}{extra}];"

    clusters: dict[tuple[str, str], list[Node]] = {}
    for node in nodes:
        key = cluster_of(node)
        if key is None:
            lines.append(node_line(node, "    "))
        else:
            clusters.setdefault(key, []).append(node)
    for index, (key, members) in enumerate(clusters.items()):
        lines.append(f"    subgraph cluster_{index} {{")
        lines.append(f"        label={_dot_string(cluster_label(key))};")
        lines.append('        style="dashed,rounded";')
        lines += [node_line(node, "        ") for node in members]
        lines.append("    }")
    for source, target in drawn_edges(model):
        shape = show(model.node(source).meta["shape"])
        style = ", style=dashed" if (source, target) in skips else ""
        lines.append(
            f"    {_dot_string(source)} -> {_dot_string(target)} "
            f"[label={_dot_string(shape)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- layout -------------------------------------------------------------------------


@dataclass
class Box:
    """A drawn node (or a long edge's dummy point): top-left corner and size."""

    name: str
    lines: list[tuple[str, str]]  # (css class, text)
    width: float
    height: float
    rank: int
    dummy: bool = False
    x: float = 0.0
    y: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.width / 2


@dataclass
class Layout:
    boxes: dict[str, Box]  # real nodes only
    edges: list[tuple[str, str, list[tuple[float, float]], bool]]  # source, target, points, skip
    clusters: list[tuple[str, float, float, float, float]]  # label, x, y, width, height
    width: float
    height: float
    rows: list[list[str]] = field(default_factory=list)


def _box(node: Node, rank: int) -> Box:
    shape = show(node.meta["shape"])
    if node.op == STATE:
        lines = [("port", node.name), ("port", shape)]
        width = max(len(t) for _, t in lines) * SMALL_CHAR + 2 * PAD
        return Box(node.name, lines, width, len(lines) * SMALL_LINE + PAD, rank)
    lines = [("name", node.name), ("op", op_label(node)), ("shape", shape)]
    params = params_label(node)
    if params and node.op != "input":
        lines.append(("params", params))
    width = max(len(t) for _, t in lines) * CHAR + 2 * PAD
    return Box(node.name, lines, width, len(lines) * LINE + PAD, rank)


def layout(model: ModelGraph) -> Layout:
    """Positions for every drawn node, edge and cluster (top to bottom)."""
    nodes = drawn_nodes(model)
    edges = drawn_edges(model)
    rank = ranks(model)
    boxes: dict[str, Box] = {n.name: _box(n, rank[n.name]) for n in nodes}
    cluster = {n.name: cluster_of(n) for n in nodes}
    # The layered graph: a chain of dummies for every edge that crosses rows.
    all_boxes: dict[str, Box] = dict(boxes)
    preds: dict[str, list[str]] = {name: [] for name in boxes}
    succs: dict[str, list[str]] = {name: [] for name in boxes}
    chains: list[tuple[str, str, list[str]]] = []
    for source, target in edges:
        chain = [source]
        for r in range(rank[source] + 1, rank[target]):
            dummy = f"{source}->{target}#{r}"  # `>` is never in a name
            all_boxes[dummy] = Box(dummy, [], DUMMY_WIDTH, 0, r, dummy=True)
            preds[dummy], succs[dummy] = [], []
            chain.append(dummy)
        chain.append(target)
        for a, b in zip(chain, chain[1:], strict=False):
            preds[b].append(a)
            succs[a].append(b)
        chains.append((source, target, chain[1:-1]))
        if cluster[source] is not None and cluster[source] == cluster[target]:
            for dummy in chain[1:-1]:
                cluster[dummy] = cluster[source]
    depth = max(rank.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for name, box in all_boxes.items():
        rows[box.rank].append(name)
    # Initial order: graph order (dummies after their source's position).
    first = {n.name: i for i, n in enumerate(nodes)}
    for name, box in all_boxes.items():
        if box.dummy:
            first[name] = first[name.split("->")[0]] + 0.5
    for row in rows:
        row.sort(key=first.__getitem__)
    rows = _order(rows, preds, succs, lambda n: cluster.get(n))
    _place(rows, all_boxes, preds, succs)
    # Rows: y from the tallest box of each.
    y = MARGIN
    row_top, row_bottom = [], []
    for row in rows:
        height = max((all_boxes[n].height for n in row), default=0)
        row_top.append(y)
        row_bottom.append(y + height)
        for name in row:
            box = all_boxes[name]
            box.y = y + (height - box.height) / 2
        y += height + ROW_GAP
    # Clusters: the bounding box of their members, labelled above them.
    groups: dict[tuple[str, str], list[Box]] = {}
    for name, box in boxes.items():
        if cluster[name] is not None:
            groups.setdefault(cluster[name], []).append(box)
    clusters = []
    for key, members in groups.items():
        left = min(b.x for b in members) - CLUSTER_PAD
        top = min(b.y for b in members) - CLUSTER_PAD - CLUSTER_LABEL
        right = max(b.x + b.width for b in members) + CLUSTER_PAD
        bottom = max(b.y + b.height for b in members) + CLUSTER_PAD
        clusters.append((cluster_label(key), left, top, right - left, bottom - top))
    # Edges: spread over the bottom of the source and the top of the target.
    out_port = _ports(all_boxes, succs, outgoing=True)
    in_port = _ports(all_boxes, preds, outgoing=False)
    routed = []
    for source, target, dummies in chains:
        first_hop = dummies[0] if dummies else target
        last_hop = dummies[-1] if dummies else source
        src, dst = boxes[source], boxes[target]
        points = [(out_port[(source, first_hop)], src.y + src.height)]
        for dummy in dummies:
            d = all_boxes[dummy]
            points += [(d.cx, row_top[d.rank]), (d.cx, row_bottom[d.rank])]
        points.append((in_port[(target, last_hop)], dst.y))
        routed.append((source, target, points, bool(dummies)))
    width = max((b.x + b.width for b in all_boxes.values()), default=0) + MARGIN
    width = max([width, *(c[1] + c[3] + MARGIN for c in clusters)])
    height = y - ROW_GAP + MARGIN if rows else 2 * MARGIN
    return Layout(boxes, routed, clusters, width, height, rows)


def _ports(boxes, neighbours, outgoing: bool) -> dict[tuple[str, str], float]:
    """Where each edge leaves (or enters) a box: spread along its side, by neighbour x."""
    ports = {}
    for name, box in boxes.items():
        others = sorted(neighbours[name], key=lambda n: boxes[n].cx)
        for i, other in enumerate(others):
            x = box.cx if box.dummy else box.x + box.width * (i + 1) / (len(others) + 1)
            ports[(name, other)] = x
    return ports


def _order(rows, preds, succs, group_of):
    """Barycentre sweeps down and up; the order with the fewest crossings wins."""
    best = [list(r) for r in rows]
    best_crossings = _crossings(best, succs)
    current = [list(r) for r in rows]
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        for i in indices:
            fixed = current[i - 1] if down else current[i + 1]
            neighbours = preds if down else succs
            position = {n: p for p, n in enumerate(fixed)}
            current[i] = _sorted_row(current[i], neighbours, position, group_of)
        crossings = _crossings(current, succs)
        if crossings < best_crossings:
            best, best_crossings = [list(r) for r in current], crossings
    return best


def _sorted_row(row, neighbours, position, group_of):
    here = {n: p for p, n in enumerate(row)}
    bary = {}
    for name in row:
        linked = [position[m] for m in neighbours[name] if m in position]
        bary[name] = (
            sum(linked) / len(linked) if linked else here[name] * len(position) / max(len(row), 1)
        )
    # Members of one block instance stay together, the group placed by its mean.
    groups: dict[object, list[str]] = {}
    for name in row:
        key = group_of(name)
        groups.setdefault(key if key is not None else ("", name), []).append(name)
    group_bary = {key: sum(bary[n] for n in ns) / len(ns) for key, ns in groups.items()}
    group = {n: key for key, ns in groups.items() for n in ns}
    return sorted(row, key=lambda n: (group_bary[group[n]], bary[n], here[n]))


def _crossings(rows, succs) -> int:
    total = 0
    for upper, lower in zip(rows, rows[1:], strict=False):
        position = {n: p for p, n in enumerate(lower)}
        pairs = [(i, position[t]) for i, n in enumerate(upper) for t in succs[n] if t in position]
        for a in range(len(pairs)):
            for b in range(a + 1, len(pairs)):
                (i1, j1), (i2, j2) = pairs[a], pairs[b]
                if (i1 - i2) * (j1 - j2) < 0:
                    total += 1
    return total


def _place(rows, boxes, preds, succs) -> None:
    """x for every box: packed left to right, then pulled toward its neighbours' centres."""
    for row in rows:
        x = 0.0
        for name in row:
            boxes[name].x = x
            x += boxes[name].width + NODE_GAP
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        order = rows if down else rows[::-1]
        for row in order:
            desired = []
            for name in row:
                box = boxes[name]
                linked = preds[name] if down else succs[name]
                if not linked:
                    linked = succs[name] if down else preds[name]
                centre = sum(boxes[n].cx for n in linked) / len(linked) if linked else box.cx
                desired.append(centre - box.width / 2)
            for name, left in zip(row, _pack(row, desired, boxes), strict=True):
                boxes[name].x = left
    shift = MARGIN - min((b.x for b in boxes.values()), default=0) + CLUSTER_PAD
    for box in boxes.values():
        box.x += shift


def _pack(row, desired, boxes) -> list[float]:
    """Lefts as close as possible (least squares) to `desired`, in order, NODE_GAP apart."""
    blocks: list[list] = []  # [members, sum of (desired - offset), width]
    for name, want in zip(row, desired, strict=True):
        blocks.append([[name], want, boxes[name].width])
        while len(blocks) > 1:
            (a_members, a_sum, a_width), (b_members, b_sum, b_width) = blocks[-2], blocks[-1]
            a_left = a_sum / len(a_members)
            b_left = b_sum / len(b_members)
            if a_left + a_width + NODE_GAP <= b_left:
                break
            offset = a_width + NODE_GAP
            blocks[-2:] = [
                [
                    a_members + b_members,
                    a_sum + b_sum - len(b_members) * offset,
                    a_width + offset + b_width,
                ]
            ]
    lefts = []
    for members, total, _ in blocks:
        x = total / len(members)
        for name in members:
            lefts.append(x)
            x += boxes[name].width + NODE_GAP
    return lefts


# --- SVG and HTML -------------------------------------------------------------------


def _x(text: str) -> str:
    return _xml_escape(text, {'"': "&quot;"})


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


STYLE = """\
.specc-graph text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.specc-graph .node rect { fill: #f6f8fa; stroke: #57606a; stroke-width: 1; }
.specc-graph .node.input rect { fill: #ddf4ff; }
.specc-graph .node.state rect { fill: #fff8c5; stroke: #9a6700; }
.specc-graph .name { font-weight: bold; font-size: 12px; fill: #1f2328; }
.specc-graph .op, .specc-graph .shape { font-size: 12px; fill: #1f2328; }
.specc-graph .params { font-size: 12px; fill: #57606a; }
.specc-graph .port { font-size: 10px; fill: #1f2328; }
.specc-graph .edge path { fill: none; stroke: #57606a; stroke-width: 1.2; }
.specc-graph .edge.skip path { stroke: #8250df; stroke-dasharray: 5 3; }
.specc-graph .edge text { font-size: 10px; fill: #57606a; paint-order: stroke;
  stroke: #ffffff; stroke-width: 3px; }
.specc-graph .cluster rect { fill: #f0f6ff; fill-opacity: 0.5; stroke: #0969da;
  stroke-dasharray: 4 2; }
.specc-graph .cluster text { font-size: 11px; fill: #0969da; }
.specc-graph .hot rect, .specc-graph .edge.hot path { stroke: #cf222e; stroke-width: 2; }
"""


def _path(points: list[tuple[float, float]]) -> str:
    """Vertical-tangent cubic curves between rows; straight through a dummy's row."""
    (x, y), rest = points[0], points[1:]
    parts = [f"M{_n(x)},{_n(y)}"]
    for i, (nx, ny) in enumerate(rest):
        if i % 2 == 1 and i < len(rest) - 1:  # through a row: straight down
            parts.append(f"L{_n(nx)},{_n(ny)}")
        else:
            mid = (y + ny) / 2
            parts.append(f"C{_n(x)},{_n(mid)} {_n(nx)},{_n(mid)} {_n(nx)},{_n(ny)}")
        x, y = nx, ny
    return " ".join(parts)


def to_svg(model: ModelGraph, standalone: bool = True) -> str:
    """An SVG drawing, laid out here (no Graphviz)."""
    plan = layout(model)
    out = []
    xmlns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    out.append(
        f'<svg{xmlns} class="specc-graph" width="{_n(plan.width)}" height="{_n(plan.height)}" '
        f'viewBox="0 0 {_n(plan.width)} {_n(plan.height)}" role="img" '
        f'aria-label="{_x("layer graph of " + model.name)}">'
    )
    out.append(f"<title>{_x(model.name)}</title>")
    out.append(f"<style>\n{STYLE}</style>")
    out.append(
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#57606a"/></marker></defs>'
    )
    for label, x, y, w, h in plan.clusters:
        out.append(
            f'<g class="cluster"><title>{_x("block instance " + label)}</title>'
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="6"/>'
            f'<text x="{_n(x + 6)}" y="{_n(y + 12)}">{_x(label)}</text></g>'
        )
    # A label that would cover a box or another label is left out: the edge's
    # <title> still carries its shape (several edges of one source pass the same).
    taken = [(b.x, b.y, b.width, b.height) for b in plan.boxes.values()]
    for source, target, points, skip in plan.edges:
        shape = show(model.node(source).meta["shape"])
        (x0, y0), (x1, y1) = points[0], points[1]
        kind = "edge skip" if skip else "edge"
        what = "skip edge" if skip else "edge"
        lx, ly = (x0 + x1) / 2 + 4, (y0 + y1) / 2 + 3
        spot = (lx, ly - SMALL, len(shape) * SMALL_CHAR, SMALL + 2)
        label = ""
        if not any(_overlap(spot, other) for other in taken):
            taken.append(spot)
            label = f'<text x="{_n(lx)}" y="{_n(ly)}">{_x(shape)}</text>'
        out.append(
            f'<g class="{kind}" data-source="{_x(source)}" data-target="{_x(target)}">'
            f"<title>{_x(f'{what} {source} -> {target}: {shape}')}</title>"
            f'<path d="{_path(points)}" marker-end="url(#arrow)"/>{label}</g>'
        )
    for node in drawn_nodes(model):
        box = plan.boxes[node.name]
        kind = {"input": "node input", STATE: "node state"}.get(node.op, "node")
        details = _details(model, node)
        out.append(
            f'<g class="{kind}" data-name="{_x(node.name)}" data-details="{_x(details)}">'
            f"<title>{_x(details)}</title>"
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" '
            f'height="{_n(box.height)}" rx="{8 if node.op == STATE else 4}"/>'
        )
        step = SMALL_LINE if node.op == STATE else LINE
        for i, (css, text) in enumerate(box.lines):
            y = box.y + PAD / 2 + step * (i + 1) - 4
            out.append(
                f'<text class="{css}" x="{_n(box.cx)}" y="{_n(y)}" '
                f'text-anchor="middle">{_x(text)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _overlap(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _details(model: ModelGraph, node: Node) -> str:
    """The hover text of a node: everything the summary says about it."""
    lines = [f"{node.name}: {op_label(node)}", f"output {show(node.meta['shape'])}"]
    if node.inputs:
        lines.append("inputs: " + ", ".join(node.inputs))
    params = node.meta.get("params") or {}
    for backend, count in sorted(params.items()):
        lines.append(f"{backend} params: {count:,}")
    key = cluster_of(node)
    if key is not None:
        lines.append("block instance: " + cluster_label(key))
    if node.name in model.outputs:
        lines.append("model output")
    return "\n".join(lines)


SCRIPT = """\
(function () {
  var panel = document.getElementById("details");
  var svg = document.querySelector("svg.specc-graph");
  function mark(name, on) {
    var edges = svg.querySelectorAll("g.edge");
    for (var i = 0; i < edges.length; i++) {
      var e = edges[i];
      if (e.getAttribute("data-source") === name || e.getAttribute("data-target") === name) {
        e.classList.toggle("hot", on);
      }
    }
  }
  var nodes = svg.querySelectorAll("g.node");
  for (var i = 0; i < nodes.length; i++) {
    (function (node) {
      node.addEventListener("mouseenter", function () {
        panel.textContent = node.getAttribute("data-details");
        node.classList.add("hot");
        mark(node.getAttribute("data-name"), true);
      });
      node.addEventListener("mouseleave", function () {
        node.classList.remove("hot");
        mark(node.getAttribute("data-name"), false);
      });
    })(nodes[i]);
  }
  document.body.setAttribute("data-ready", String(nodes.length));
})();
"""


def to_html(model: ModelGraph) -> str:
    """One self-contained page: the SVG inline, hover details, no external resources."""
    title = f"specc graph: {model.name}"
    description = model.spec.description or ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_x(title)}</title>\n"
        "<style>\n"
        "body { font-family: system-ui, sans-serif; margin: 16px; color: #1f2328; }\n"
        "#details { position: fixed; top: 12px; right: 12px; white-space: pre; "
        "font-family: ui-monospace, monospace; font-size: 12px; background: #ffffffee; "
        "border: 1px solid #d0d7de; padding: 8px; min-width: 16em; }\n"
        "</style>\n</head>\n<body>\n"
        f"<h1>{_x(model.name)}</h1>\n"
        + (f"<p>{_x(description)}</p>\n" if description else "")
        + '<div id="details">hover a layer for its details</div>\n'
        + to_svg(model, standalone=False)
        + f"<script>\n{SCRIPT}</script>\n"
        + f'<script type="application/json" id="graph-data">{_json_data(model)}</script>\n'
        + "</body>\n</html>\n"
    )


def _json_data(model: ModelGraph) -> str:
    """The drawn graph as data (nodes, edges), for a reader of the page's source."""
    data = {
        "name": model.name,
        "nodes": [
            {"name": n.name, "op": n.op, "shape": show(n.meta["shape"])} for n in drawn_nodes(model)
        ],
        "edges": [list(e) for e in drawn_edges(model)],
    }
    return json.dumps(data).replace("<", "\\u003c")


# --- the command --------------------------------------------------------------------


def add_parser(commands) -> None:
    """`specc graph SPEC --format mermaid|dot|svg|html [-o FILE]`."""
    graph = commands.add_parser("graph", help="draw the layer graph (mermaid, dot, svg, html)")
    graph.add_argument("spec", metavar="SPEC")
    graph.add_argument("--format", choices=FORMATS, default="mermaid")
    graph.add_argument("-o", "--output", metavar="FILE", help="write here (atomically)")


def command(args, out) -> int:
    """Run `specc graph`; exit codes as `compile`'s (1, and nothing written, on errors)."""
    import sys
    from pathlib import Path

    from . import cli
    from .diagnostics import escape
    from .pipeline import validate
    from .render import render_text

    path = Path(args.spec)
    if not path.is_file():
        raise cli._UsageError(f"no such file: `{escape(args.spec)}`")
    try:
        report = validate(path)
    except OSError as exc:
        print(
            f"specc: error: cannot read `{escape(path)}`: {escape(exc.strerror or exc)}",
            file=sys.stderr,
        )
        return cli.EXIT_ERROR
    if not report.ok or report.graph is None:
        sys.stderr.write(render_text(report.diagnostics, {report.file: report.text}))
        return cli.EXIT_PROBLEMS
    text = render(report.graph, args.format)
    if args.output is None:
        out.write(text)
        return cli.EXIT_OK
    try:
        cli.write_atomically(Path(args.output), text)
    except OSError as exc:
        print(
            f"specc: error: cannot write `{escape(args.output)}`: {escape(exc.strerror or exc)}",
            file=sys.stderr,
        )
        return cli.EXIT_ERROR
    return cli.EXIT_OK
