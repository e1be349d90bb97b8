"""`specc graph`: Mermaid, DOT, SVG and HTML drawings of every example spec.

The SVG is checked as geometry: it parses, every drawn node appears once,
no two node boxes overlap, and its edges are the graph's. The HTML page is
rendered in headless Chromium where /usr/bin/chromium is installed.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import specc
from specc.cli import main
from specc.draw import drawn_edges, drawn_nodes, ranks, render, skip_edges

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = "/usr/bin/chromium"


def spec_id(path: Path) -> str:
    return path.relative_to(ROOT / "specs").as_posix()


@pytest.fixture(scope="module")
def models() -> dict[Path, specc.ModelGraph]:
    return {path: specc.load(path) for path in SPECS}


def live_layers(model) -> set[str]:
    return {n.name for n in model.order if n.name in model.live}


def graph_edges(model) -> set[tuple[str, str]]:
    live = model.live
    return {(s, t) for s, t in model.graph.edges if s in live and t in live}


@pytest.mark.parametrize("path", SPECS, ids=spec_id)
def test_svg_geometry(path, models):
    model = models[path]
    root = ET.fromstring(render(model, "svg"))
    assert root.tag == f"{SVG}svg"
    groups = root.iter(f"{SVG}g")
    nodes = {}
    edges = []
    for group in groups:
        kind = group.get("class", "").split()
        if "node" in kind:
            name = group.get("data-name")
            assert name not in nodes, f"{name} drawn twice"
            rect = group.find(f"{SVG}rect")
            nodes[name] = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
            texts = [t.text for t in group.iter(f"{SVG}text")]
            assert name in texts
            assert group.find(f"{SVG}title") is not None  # hover details
        elif "edge" in kind:
            edges.append((group.get("data-source"), group.get("data-target"), "skip" in kind))
    assert set(nodes) == live_layers(model)
    for (a, ra), (b, rb) in itertools.combinations(nodes.items(), 2):
        ax, ay, aw, ah = ra
        bx, by, bw, bh = rb
        apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
        assert apart, f"boxes of {a} and {b} overlap: {ra} {rb}"
    assert len(edges) == len({(s, t) for s, t, _ in edges})
    assert {(s, t) for s, t, _ in edges} == graph_edges(model)
    assert {(s, t) for s, t, skip in edges if skip} == skip_edges(model)
    width, height = float(root.get("width")), float(root.get("height"))
    for x, y, w, h in nodes.values():
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height


@pytest.mark.parametrize("path", SPECS, ids=spec_id)
def test_mermaid_and_dot_name_every_node_and_edge(path, models):
    model = models[path]
    mermaid = render(model, "mermaid")
    ids = dict(re.findall(r'^\s*(n\d+)[\[\(]+/?"([^"<]*)<br/>', mermaid, re.M))
    names = {name: ident for ident, name in ids.items()}
    assert set(names) == live_layers(model)
    arrows = set(re.findall(r"^\s*(n\d+) -\.?->\|\"[^\"]*\"\| (n\d+)$", mermaid, re.M))
    assert arrows == {(names[s], names[t]) for s, t in graph_edges(model)}
    assert mermaid.startswith("%% specc graph") and "\nflowchart TB\n" in mermaid

    dot = render(model, "dot")
    declared = set(re.findall(r'^\s*"([^"]+)" \[label=', dot, re.M))
    assert declared == live_layers(model)
    dot_edges = set(re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[', dot, re.M))
    assert dot_edges == graph_edges(model)
    assert dot.startswith("digraph ") and dot.rstrip().endswith("}")


def test_blocks_are_clusters_skips_are_dashed_ports_are_small(models):
    resnet = models[ROOT / "specs/resnet_lstm.yaml"]
    mermaid = render(resnet, "mermaid")
    assert 'subgraph c0["stage1 (res_lstm)"]' in mermaid
    assert 'subgraph c1["stage2 (res_lstm)"]' in mermaid  # all three copies of the repeat
    assert "subgraph cluster_0" in render(resnet, "dot")
    svg = ET.fromstring(render(resnet, "svg"))
    labels = [g.find(f"{SVG}text").text for g in svg.iter(f"{SVG}g") if g.get("class") == "cluster"]
    assert labels == ["stage1 (res_lstm)", "stage2 (res_lstm)"]

    skip = models[ROOT / "specs/skip_deep_lstm.yaml"]
    rank = ranks(skip)
    assert ("bi1", "res1") in skip_edges(skip) and rank["res1"] - rank["bi1"] == 3
    assert ("bi3", "res1") not in skip_edges(skip)
    assert "bi1 -.->" not in render(skip, "mermaid")  # ids, not names
    assert '"bi1" -> "res1" [label="(batch, 36, 128)", style=dashed];' in render(skip, "dot")

    states = models[ROOT / "specs/seq2seq_states.yaml"]
    assert ("encoder.h", "decoder") in drawn_edges(states)
    assert 'n3(["encoder.h<br/>(batch, 256)"])' in render(states, "mermaid")
    svg = ET.fromstring(render(states, "svg"))
    port = next(g for g in svg.iter(f"{SVG}g") if g.get("data-name") == "encoder.h")
    layer = next(g for g in svg.iter(f"{SVG}g") if g.get("data-name") == "encoder")
    assert "state" in port.get("class")
    height = float(port.find(f"{SVG}rect").get("height"))
    assert height < float(layer.find(f"{SVG}rect").get("height"))


def test_labels_are_escaped():
    model = specc.load(ROOT / "specs/skip_deep_lstm.yaml")
    html = render(model, "html")
    assert "<script" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html and " src=" not in html and "<link" not in html
    from specc.draw import _dot_string, _mermaid_text

    assert _mermaid_text('a"b<c>#d') == "a#34;b#60;c#62;#35;d"
    assert _dot_string('a"b\\c') == '"a\\"b\\\\c"'


def test_drawn_nodes_leave_out_dead_layers(tmp_path):
    spec = tmp_path / "dead.yaml"
    spec.write_text(
        "specc: 1\nname: dead\ninputs:\n  - {name: x, shape: [4]}\nlayers:\n"
        "  - {name: a, op: dense, units: 2}\n  - {name: unused, op: dense, units: 2, inputs: x}\n"
        "outputs: a\n"
    )
    model = specc.load(spec)
    assert [n.name for n in drawn_nodes(model)] == ["x", "a"]
    assert "unused" not in render(model, "svg") and "unused" not in render(model, "mermaid")


GOOD = """\
specc: 1
name: tiny
inputs:
  - {name: x, shape: [8]}
layers:
  - {name: a, op: dense, units: 4}
  - {name: b, op: dense, units: 2}
"""


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg", "html"])
def test_cli_writes_each_format(tmp_path, capsys, fmt):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(GOOD)
    assert main(["graph", str(spec), "--format", fmt]) == 0
    printed = capsys.readouterr().out
    target = tmp_path / f"out.{fmt}"
    assert main(["graph", str(spec), "--format", fmt, "-o", str(target)]) == 0
    assert target.read_text() == printed
    assert capsys.readouterr().out == ""


def test_cli_errors_write_nothing(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text(GOOD.replace("units: 2", "units: 2, inputs: nope"))
    target = tmp_path / "out.svg"
    assert main(["graph", str(spec), "--format", "svg", "-o", str(target)]) == 1
    assert not target.exists()
    captured = capsys.readouterr()
    assert "E301" in captured.err and captured.out == ""
    assert main(["graph", str(tmp_path / "missing.yaml")]) == 2
    assert main(["graph", str(spec), "--format", "png"]) == 2
    assert "specc: error:" in capsys.readouterr().err


def test_default_format_is_mermaid(tmp_path, capsys):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(GOOD)
    assert main(["graph", str(spec)]) == 0
    assert "flowchart TB" in capsys.readouterr().out


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(page: Path, profile: Path) -> subprocess.CompletedProcess:
    """Load a page in headless Chromium; its DOM on stdout, console messages on stderr."""
    profile.mkdir()
    try:
        return subprocess.run(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"
)


@needs_chromium
def test_chromium_check_sees_console_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<html><body><script>throw new Error("bad");</script></body></html>')
    result = chromium(page, tmp_path / "profile")
    assert any("Uncaught Error: bad" in line for line in console_lines(result.stderr))


@needs_chromium
@pytest.mark.parametrize(
    "name", ["resnet_lstm", "skip_deep_lstm", "seq2seq_states", "attention_encoder"]
)
def test_html_renders_in_chromium_without_console_errors(tmp_path, name):
    model = specc.load(ROOT / f"specs/{name}.yaml")
    page = tmp_path / f"{name}.html"
    page.write_text(render(model, "html"), encoding="utf-8")
    result = chromium(page, tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    console = console_lines(result.stderr)
    assert not console, "\n".join(console)
    # The page's script ran to its end: it marks the body with the number of nodes.
    assert f'data-ready="{len(drawn_nodes(model))}"' in result.stdout
    assert "<svg" in result.stdout


def test_docs_example_is_what_specc_draws():
    page = (ROOT / "docs/graph.md").read_text()
    block = page.split("```mermaid\n", 1)[1].split("```", 1)[0]
    drawn = render(specc.load(ROOT / "specs/seq2seq_states.yaml"), "mermaid")
    assert block == drawn.split("\n", 1)[1]
