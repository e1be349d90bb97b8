"""The PyTorch backend: every example spec and every op-table case built and run.

Each build runs a forward pass on random input and holds every intermediate
tensor to the validator's predicted shape (variable dims bound to the sizes
fed in, each Sym to one size throughout) and the parameter count to `specc
summary`'s torch figure. The intermediates come from the local variables of
the emitted `forward` (named after the layers), caught with `sys.setprofile`
when it returns, so the emitted code needs no hooks.

Golden files: tests/golden/torch/NAME.py hold the emitted source of some
specs (as `specc.build` runs it: the model code, importing the runtime
helpers), compared byte for byte. After an intended change of the emitter, run

    SPECC_UPDATE_GOLDEN=1 pytest tests/test_backend_torch.py

and review `git diff tests/golden/torch`.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import specc  # noqa: E402
from specc.backends.torch import TorchBackend, runtime  # noqa: E402
from specc.backends.torch._emit import _closure, _helper_sources, module_names  # noqa: E402
from specc.build import load_source  # noqa: E402
from specc.shapes import BATCH, Sym  # noqa: E402
from specc.summary import summary_data  # noqa: E402
from specc.variants import VARIANTS  # noqa: E402

from .op_table import CASES, Case  # noqa: E402
from .support import SHARED  # noqa: E402
from .test_shapes import case_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "torch"
UPDATE = os.environ.get("SPECC_UPDATE_GOLDEN") == "1"
GOLDEN_SPECS = [
    "skip_deep_lstm",
    "crnn_keyword_spotting",
    "attention_encoder",
    "conv_lstm_classifier",
    "recurrent_twin_critic",
    "luong_attention",
    "stateful_stacked_lstm",
    "bidirectional_rnn",
    "hierarchical_rnn_mnist",
    "imdb_lstm_recurrent_dropout",
    "imdb_masked",
    "variants/lstm_cifg",
    "variants/lstm_fgr",
    "variants/lstm_cifg_no_peepholes",
    "gated_feedback_lstm",
    "siamese_lstm",
    "seq2seq_states",
    "bidirectional_encoder_decoder",
]
# Refused with E601: they need custom recurrent cells, which the backend does not have yet.
REFUSED: dict[str, list[str]] = {}  # spec -> the attributes its E601s point at
BATCH_SIZE = 3
RUFF = [sys.executable, "-m", "ruff"]
MAX_LINE = 88  # ruff format's default: emitted files are judged at ruff's defaults

torch.manual_seed(0)


def spec_id(path: Path) -> str:
    return path.stem


def emit_or_refusal(spec):
    """The emitted source, or the EmitError (which must carry only E601 diagnostics)."""
    try:
        return specc.emit(spec, backend="torch"), None
    except specc.EmitError as error:
        assert error.diagnostics and all(d.code == "E601" for d in error.diagnostics)
        return None, error


class Sizes:
    """Concrete sizes for symbolic dims: each Sym gets one size, fixed at first sight."""

    def __init__(self, batch: int):
        self.bound: dict = {BATCH: batch}
        self.fresh = iter(range(5, 100))

    def feed(self, dim) -> int:
        if isinstance(dim, int):
            return dim
        if dim not in self.bound:
            self.bound[dim] = next(self.fresh)
        return self.bound[dim]

    def check(self, predicted: tuple, actual: tuple, what: str) -> None:
        assert len(predicted) == len(actual), f"{what}: predicted {predicted}, got {actual}"
        for p, a in zip(predicted, actual, strict=True):
            if isinstance(p, Sym):
                expected = self.bound.setdefault(p, a)
                assert expected == a, f"{what}: {p} is {expected} elsewhere, {a} here ({actual})"
            else:
                assert p == a, f"{what}: predicted {predicted}, got {actual}"


def capture_forward(model, args):
    """Run model(*args); return its output and the locals of its `forward` when it returned."""
    captured = {}

    def profiler(frame, event, arg):
        is_forward = event == "return" and frame.f_code.co_name == "forward"
        if is_forward and frame.f_locals.get("self") is model:
            captured.update(frame.f_locals)

    sys.setprofile(profiler)
    try:
        out = model(*args)
    finally:
        sys.setprofile(None)
    return out, captured


def random_inputs(graph, sizes: Sizes):
    vocab = min(
        [n.attrs["input_dim"] for n in graph.order if n.op == "embedding"]
        + [
            n.attrs["layer"]["input_dim"]
            for n in graph.order
            if n.op == "time_distributed" and n.attrs["layer"]["op"] == "embedding"
        ],
        default=10,
    )
    args = []
    for node in graph.spec.inputs:
        shape = [sizes.feed(d) for d in node.meta["shape"]]
        if node.attrs["dtype"].startswith("int"):
            dtype = getattr(torch, node.attrs["dtype"])
            args.append(torch.randint(0, vocab, shape, dtype=dtype))
        else:
            args.append(torch.randn(shape))
    return args


def _only_states_read(graph, node) -> bool:
    """A recurrent layer read only through its state ports: its output is `_`."""
    readers = [graph.node(r) for r in graph.graph.successors(node.name) if r in graph.live]
    return (
        bool(node.attrs.get("return_state"))
        and node.name not in graph.outputs
        and all(r.op == "state" for r in readers)
    )


def check_model(spec, source: str):
    """Build from the source, run it, hold shapes and parameter counts to the validator."""
    graph = specc.validate(spec).graph
    model = load_source(source, "torch:test").build_model().eval()
    sizes = Sizes(graph.spec.batch_size or BATCH_SIZE)
    args = random_inputs(graph, sizes)
    with torch.no_grad():
        out, local = capture_forward(model, args)
    for node in graph.order:
        if node.name not in graph.live or node.op == "input" or _only_states_read(graph, node):
            continue
        name = node.name.replace(".", "_")  # a state port, `enc.h`, is `enc_h`
        value = local.get(name)
        if not isinstance(value, torch.Tensor):  # renamed: a builtin, a keyword, `self`
            value = local.get(f"{name}_1")
        assert value is not None, f"no local for `{node.name}` in forward"
        sizes.check(node.meta["shape"], tuple(value.shape), node.name)
        dtype = str(value.dtype).removeprefix("torch.")
        assert dtype == node.meta["dtype"], (node.name, node.meta["dtype"], dtype)
        assert torch.isfinite(value.float()).all(), node.name
    outs = out if isinstance(out, tuple) else (out,)
    assert len(outs) == len(graph.outputs)
    total = sum(p.numel() for p in model.parameters())
    assert total == summary_data(graph)["params"]["torch"]
    return model, graph


@pytest.mark.parametrize("path", SPECS, ids=spec_id)
def test_spec_builds_runs_and_matches_the_validator(path: Path):
    source, refusal = emit_or_refusal(path)
    if refusal is not None:
        assert path.stem in REFUSED, refusal
        pytest.skip(f"refused with E601: {refusal}")
    assert path.stem not in REFUSED
    check_model(path, source)


CASE_REFUSED: set[str] = set()


@pytest.mark.parametrize("case", [c for c in CASES if not c.error], ids=lambda c: c.id)
def test_op_case_builds_and_matches_the_table(case: Case):
    text = case_spec(case)
    source, refusal = emit_or_refusal(text)
    if refusal is not None:
        assert case.id in CASE_REFUSED, refusal
        pytest.skip(f"refused with E601: {refusal}")
    assert case.id not in CASE_REFUSED
    model, graph = check_model(text, source)
    assert sum(p.numel() for p in model.parameters()) == case.params[1]


@pytest.mark.parametrize(
    "inner, shape, dtype",
    [
        ("{op: batch_norm}", [4, 6], "float32"),
        ("{op: repeat_vector, n: 3}", [4, 6], "float32"),
        ("{op: global_avg_pool}", [4, 5, 6], "float32"),
        ("{op: reshape, target_shape: [-1, 2]}", [4, 6], "float32"),
        ("{op: permute, dims: [2, 1]}", [4, 5, 6], "float32"),
        ("{op: embedding, input_dim: 9, output_dim: 2}", [4, 5], "int64"),
        ("{op: layer_norm, center: false}", [4, 6], "float32"),
        ("{op: gru, units: 3, bidirectional: true, merge_mode: mul}", [4, 5, 6], "float32"),
        ("{op: conv1d, filters: 2, kernel_size: 2, padding: causal}", [4, 5, 6], "float32"),
        ("{op: last_step}", [4, 5, 6], "float32"),
        ("{op: flatten}", [4, 5, 2], "int32"),  # keeps the ids' dtype (differential test)
        ("{op: repeat_vector, n: 2}", [4, 5], "int64"),
    ],
)
def test_time_distributed_of_each_kind_of_op(inner: str, shape: list, dtype: str):
    text = f"""\
specc: 1
name: td
inputs:
  - {{name: x, shape: {shape}, dtype: {dtype}}}
layers:
  - {{name: td, op: time_distributed, layer: {inner}}}
"""
    source, refusal = emit_or_refusal(text)
    assert refusal is None
    check_model(text, source)
    assert all(len(line) <= MAX_LINE for line in source.splitlines())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_inputs_are_computed_in_float32(dtype: str):
    """As Keras's layers autocast them (found by the differential test): no dtype clash
    in `nn.Linear`; every result float32; an input that is also an output is returned
    as it came."""
    text = f"""\
specc: 1
name: half
inputs:
  - {{name: x, shape: [4, 6], dtype: {dtype}}}
layers:
  - {{name: p, op: permute, dims: [2, 1]}}
  - {{name: d, op: dense, units: 3}}
outputs: [d, x]
"""
    source, refusal = emit_or_refusal(text)
    assert refusal is None
    check_model(text, source)
    model = specc.build(text, backend="torch")
    x = torch.randn(2, 4, 6).to(getattr(torch, dtype))
    d, same = model(x)
    assert d.dtype == torch.float32 and same.dtype == x.dtype


def emitted_specs():
    for path in SPECS:
        if path.stem not in REFUSED:
            yield path


@pytest.mark.parametrize("name", GOLDEN_SPECS)
def test_golden_source(name: str):
    """The model code, byte for byte; the runtime helpers are imported, not pinned here."""
    source = specc.emit(ROOT / "specs" / f"{name}.yaml", backend="torch", standalone=False)
    golden = GOLDEN / f"{Path(name).name}.py"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(source, encoding="utf-8")
    assert golden.exists(), f"no golden file; run with SPECC_UPDATE_GOLDEN=1 to write {golden}"
    assert source == golden.read_text(encoding="utf-8")


def other_hash_seed() -> str:
    """A PYTHONHASHSEED other than this process's (set and hash orders may not show)."""
    return "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"


@pytest.fixture(scope="module")
def emitted_elsewhere() -> dict[str, str]:
    """Every spec's source (both forms) as another process, with another hash seed, emits it."""
    code = (
        "import json, sys, specc; print(json.dumps({f'{p}:{int(s)}': specc.emit(p, "
        "backend='torch', standalone=s) for p in sys.argv[1:] for s in (True, False)}))"
    )
    paths = [str(p) for p in emitted_specs()]
    env = {**os.environ, "PYTHONHASHSEED": other_hash_seed()}
    done = subprocess.run(
        [sys.executable, "-c", code, *paths], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _ruff(*args: str, source: str) -> subprocess.CompletedProcess:
    command = [*RUFF, *args, "--isolated", "--stdin-filename", "model.py", "-"]
    return subprocess.run(command, input=source, capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("standalone", [True, False], ids=["standalone", "runtime"])
@pytest.mark.parametrize("path", list(emitted_specs()), ids=spec_id)
def test_source_is_deterministic_ruff_clean_and_formatted(
    path: Path, standalone: bool, emitted_elsewhere
):
    """Clean under ruff's default settings (`--isolated`), as a hand-written file would be."""
    graph = specc.validate(path).graph
    source = TorchBackend().emit(graph, standalone=standalone)
    assert source == emitted_elsewhere[f"{path}:{int(standalone)}"]
    imports = {line for line in source.splitlines() if line.startswith(("import ", "from "))}
    allowed = {"import torch", "import torch.nn.functional as F", "from torch import nn"}
    assert {i for i in imports if not i.startswith("from specc.")} <= allowed
    assert standalone or all(
        i.startswith("from specc.backends.torch.runtime ") for i in imports - allowed
    )
    check = _ruff("check", source=source)
    assert check.returncode == 0, check.stdout + check.stderr
    formatted = _ruff("format", source=source)
    assert formatted.returncode == 0, formatted.stderr
    assert formatted.stdout == source


def test_build_returns_the_module_named_after_the_spec():
    model = specc.build(ROOT / "specs" / "skip_deep_lstm.yaml", backend="torch")
    assert type(model).__name__ == "SkipDeepLstm"
    assert isinstance(model, torch.nn.Module)
    names = {name for name, _ in model.named_children()}
    assert names == {"bi1", "bi2", "bi3", "bi4", "bi5", "bi6", "head", "out"}
    assert all(type(getattr(model, n)) is torch.nn.LSTM for n in names - {"out"})
    assert model.bi1.batch_first and model.bi1.bidirectional


def test_skip_deep_lstm_reads_as_hand_written():
    """Plain `nn.LSTM` layers, Keras's outputs inline, no helper: at most 70 lines."""
    source = specc.emit(SKIP_DEEP, backend="torch")
    assert len(source.splitlines()) <= 70
    assert source.count("nn.LSTM(") == 7 and "class " not in source.replace("class SkipDeep", "")
    assert "bi2, _ = self.bi2(bi1)" in source
    assert "head = head[:, -1]" in source


def test_helpers_only_when_needed():
    """Standalone sources define exactly the runtime helpers the model uses, and what they need."""
    sources = _helper_sources()
    for path in emitted_specs():
        source = specc.emit(path, backend="torch")
        tree = ast.parse(source)
        defined = {n.name for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef)}
        helpers = defined & set(sources)
        runtime = TorchBackend().emit(specc.validate(path).graph, standalone=False)
        imported = set()
        for node in ast.parse(runtime).body:
            if isinstance(node, ast.ImportFrom) and node.module == "specc.backends.torch.runtime":
                imported |= {alias.name for alias in node.names}
        assert not imported & {n.name for n in ast.parse(runtime).body if hasattr(n, "name")}
        assert helpers == _closure(imported), path.stem
        for name in helpers:  # copied verbatim
            assert sources[name] in source
    stateful = specc.emit(ROOT / "specs" / "stateful_stacked_lstm.yaml", backend="torch")
    assert "class KerasLSTM(" in stateful and "class StepByStep(" not in stateful


def test_build_uses_the_importable_runtime():
    """`specc.build` imports the helpers, so a pickled model names a real module."""
    path = ROOT / "specs" / "stateful_stacked_lstm.yaml"
    model = specc.build(path, backend="torch")
    assert type(model.lstm1).__module__ == "specc.backends.torch.runtime"
    assert isinstance(model.lstm1, runtime.KerasLSTM)
    source = specc.emit(path, backend="torch")
    standalone = load_source(source, "torch:test").build_model()
    assert set(standalone.state_dict()) == set(model.state_dict())


SKIP_DEEP = ROOT / "specs" / "skip_deep_lstm.yaml"


def _bare_lstm_bf16_autocast_error() -> str | None:
    """What a bare `nn.LSTM` raises under bfloat16 autocast on the CPU, or None when it runs.

    Some CPU builds of torch raise oneDNN's "could not create a primitive
    descriptor for the LSTM forward propagation primitive" there: torch's
    limit, not specc's.
    """
    layer = torch.nn.LSTM(8, 4, batch_first=True, bidirectional=True)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            layer(torch.randn(2, 5, 8))
    except RuntimeError as error:
        return str(error).splitlines()[0]
    return None


def test_moves_dtypes_and_autocast():
    model = specc.build(SKIP_DEEP, backend="torch").eval()
    x = torch.randn(2, 36, 8)
    model.to("cpu")
    with torch.no_grad():
        reference = model(x)
        model.to(torch.float64)
        wide = model(x.double())
        assert wide.dtype == torch.float64
        assert torch.allclose(wide.float(), reference, atol=1e-5)
        model.to(torch.float32)
        error = _bare_lstm_bf16_autocast_error()
        if error is not None:
            pytest.skip(f"this torch build's nn.LSTM fails under CPU bfloat16 autocast: {error}")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x)
    assert low.dtype == torch.bfloat16 and low.shape == reference.shape
    assert torch.allclose(low.float(), reference, atol=0.1)


def _assert_every_parameter_learns(model) -> None:
    """Every parameter got a gradient, finite and not all zero."""
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: gradient not finite"
        assert p.grad.any(), f"{name}: gradient all zero"


@pytest.mark.parametrize("name", ["imdb_lstm_recurrent_dropout", "variants/lstm_fgr"])
def test_step_by_step_cells_run_under_autocast_and_backward(name: str):
    path = ROOT / "specs" / f"{name}.yaml"
    graph = specc.validate(path).graph
    model = specc.build(path, backend="torch").train()
    (x,) = random_inputs(graph, Sizes(2))
    x = x[:, :7]  # a short sequence keeps it fast
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    assert out.dtype == torch.bfloat16  # the cells ran in low precision
    out.float().square().mean().backward()
    _assert_every_parameter_learns(model)

    def loss():  # the same dropout masks on every call
        torch.manual_seed(5)
        return model(x).square().mean()

    model.zero_grad()
    before = loss()
    before.backward()
    _assert_every_parameter_learns(model)
    with torch.no_grad():
        for p in model.parameters():  # one step of gradient descent (torch.optim's first
            p.sub_(0.05 * p.grad)  # step costs seconds of imports)
        assert loss() < before  # lowers the loss


@pytest.mark.filterwarnings("ignore:The tensor attributes .*_flat_weights")
def test_skip_deep_lstm_exports():
    model = specc.build(SKIP_DEEP, backend="torch").eval()
    x = torch.randn(2, 36, 8)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        assert torch.allclose(exported.module()(x), model(x), atol=1e-5)


def test_traceback_shows_the_generated_line():
    model = specc.build(SKIP_DEEP, backend="torch")
    with pytest.raises(RuntimeError) as info:
        model(torch.randn(2, 36, 5))  # 5 features where the spec says 8
    text = "".join(traceback.format_exception(info.value))
    assert "bi1, _ = self.bi1(x)  # line" in text


def test_names_that_shadow_builtins_still_work():
    text = """\
specc: 1
name: shadows
inputs:
  - {name: id, shape: [4, 3]}
layers:
  - {name: max, op: dense, units: 3}
  - {name: sum, op: add, inputs: [id, max]}
  - {name: len, op: global_max_pool}
"""
    source = specc.emit(text, backend="torch")
    assert "def forward(self, id_1):" in source and "sum_1 = id_1 + max_1" in source
    model = specc.build(text, backend="torch")
    assert model(torch.randn(2, 4, 3)).shape == (2, 3)


@pytest.mark.parametrize("name, cls", [("attention", "AttentionModel"), ("f", "FModel")])
def test_model_class_never_hides_a_helper_or_an_import(name: str, cls: str):
    text = f"""\
specc: 1
name: {name}
inputs:
  - {{name: q, shape: [4, 3]}}
layers:
  - {{name: a, op: attention, inputs: [q, q]}}
  - {{name: b, op: activation, activation: relu}}
"""
    model = specc.build(text, backend="torch")
    assert type(model).__name__ == cls
    assert model(torch.randn(2, 4, 3)).shape == (2, 4, 3)


def test_dead_layers_are_left_out():
    """Layers that reach no output (off the input or off a live layer) are not built."""
    text = """\
specc: 1
name: dead
inputs:
  - {name: x, shape: [4, 3]}
layers:
  - {name: used, op: lstm, units: 2}
  - {name: unused, op: dense, units: 5, inputs: x}
  - {name: dangling, op: dense, units: 7, inputs: used}
outputs: [used]
"""
    graph = specc.load(text)
    assert graph.live == {"x", "used"}
    source = specc.emit(text, backend="torch")
    assert "unused" not in source and "dangling" not in source
    assert "nn.Linear" not in source and source.count("nn.LSTM(") == 1
    model = specc.build(text, backend="torch")
    assert [name for name, _ in model.named_children()] == ["used"]
    total = sum(p.numel() for p in model.parameters())
    assert total == graph.node("used").meta["params"]["torch"] == 4 * 2 * (3 + 2 + 2)
    assert model(torch.randn(2, 4, 3)).shape == (2, 2)


def _lstm_reference(x, w_ih, w_hh, b, units, act=torch.tanh, gate=torch.sigmoid):
    """A plain per-step LSTM (gates i, f, g, o), returning the final hidden state."""
    h = x.new_zeros(x.shape[0], units)
    c = x.new_zeros(x.shape[0], units)
    for t in range(x.shape[1]):
        gates = x[:, t] @ w_ih.T + h @ w_hh.T + b
        i, f, g, o = gates.chunk(4, -1)
        c = gate(f) * c + gate(i) * act(g)
        h = gate(o) * act(c)
    return h


@pytest.mark.parametrize("merge", ["sum", "mul", "ave", "concat"])
def test_bidirectional_last_step_is_both_directions_final_states(merge: str):
    """Keras's Bidirectional(LSTM) with return_sequences=False: each direction's final state."""
    text = f"""\
specc: 1
name: bi
inputs:
  - {{name: x, shape: [6, 3]}}
layers:
  - {{name: bi, op: lstm, units: 4, bidirectional: true, merge_mode: {merge}}}
"""
    model = specc.build(text, backend="torch").eval()
    layer = model.bi
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-0.5, 0.5)
        x = torch.randn(2, 6, 3)
        fw = _lstm_reference(
            x, layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0 + layer.bias_hh_l0, 4
        )
        bw = _lstm_reference(
            x.flip(1),
            layer.weight_ih_l0_reverse,
            layer.weight_hh_l0_reverse,
            layer.bias_ih_l0_reverse + layer.bias_hh_l0_reverse,
            4,
        )
        expected = {
            "sum": fw + bw,
            "mul": fw * bw,
            "ave": (fw + bw) / 2,
            "concat": torch.cat([fw, bw], -1),
        }[merge]
        assert torch.allclose(model(x), expected, atol=1e-5)


def test_lstm_forget_bias_initialisation():
    text = """\
specc: 1
name: fb
inputs:
  - {name: x, shape: [6, 3]}
layers:
  - {name: a, op: lstm, units: 4, inputs: x}
  - {name: b, op: lstm, units: 4, forget_bias: 2.5, inputs: x}
  - {name: c, op: lstm, units: 4, unit_forget_bias: false, inputs: x}
  - {name: s, op: add, inputs: [a, b, c]}
"""
    model = specc.build(text, backend="torch")
    for name, forget in [("a", 1.0), ("b", 2.5), ("c", 0.0)]:
        layer = getattr(model, name)
        bias = layer.bias_ih_l0 + layer.bias_hh_l0
        assert torch.equal(bias[4:8], torch.full((4,), forget))
        assert not bias[:4].any() and not bias[8:].any()


def test_input_dropout_is_one_mask_for_all_steps():
    text = """\
specc: 1
name: drop
inputs:
  - {name: x, shape: [5, 64]}
layers:
  - {name: r, op: rnn, units: 64, dropout: 0.5, return_sequences: true}
"""
    model = specc.build(text, backend="torch").train()
    assert type(model.r) is torch.nn.RNN
    seen = []
    model.r.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    model(torch.ones(2, 5, 64))
    (x,) = seen
    assert torch.equal(x, x[:, :1].expand_as(x))  # the same mask at every step
    assert (x == 0).any() and (x == 2).any()  # dropped, and scaled by 1 / (1 - rate)


def test_stateful_layers_carry_state_between_batches():
    path = ROOT / "specs" / "stateful_stacked_lstm.yaml"
    model = specc.build(path, backend="torch").eval()
    x = torch.randn(32, 8, 16)
    with torch.no_grad():
        first = model(x)
        second = model(x)
        assert not torch.allclose(first, second)
        for layer in (model.lstm1, model.lstm2, model.lstm3):
            layer.reset_states()
        assert torch.allclose(model(x), first, atol=1e-6)
    assert "lstm1.h" not in model.state_dict()  # weights only
    assert not list(model.buffers())  # which DDP would overwrite with rank 0's
    model.double()  # moves the state too, as `.to()`, `.cuda()` and `to_empty()`
    assert model.lstm1.h.dtype == model.lstm3.c.dtype == torch.float64
    assert model(x.double()).dtype == torch.float64


@pytest.mark.parametrize("layer", ["op: lstm", "op: gru", "op: lstm, variant: fgr"])
def test_stateful_chunks_equal_one_pass_over_the_whole_sequence(layer: str):
    text = f"""\
specc: 1
name: chunks
batch_size: 2
dims: {{T: null}}
inputs:
  - {{name: x, shape: [T, 3]}}
layers:
  - {{name: r, {layer}, units: 4, stateful: true, return_sequences: true}}
"""
    model = specc.build(text, backend="torch").eval()
    x = torch.randn(2, 15, 3)
    with torch.no_grad():
        chunks = torch.cat([model(part) for part in x.split(5, dim=1)], 1)
        model.r.reset_states()
        whole = model(x)
    assert torch.allclose(chunks, whole, atol=1e-6)


def test_stateful_models_train_and_reset_as_a_whole():
    model = specc.build(ROOT / "specs" / "stateful_stacked_lstm.yaml", backend="torch").train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(32, 8, 16)
    for _ in range(2):  # the second step starts from the state the first left
        optimizer.zero_grad()
        model(x).square().sum().backward()
        optimizer.step()
    assert model.lstm1.h.abs().sum() > 0
    model.reset_states()
    assert not any(layer.h.any() or layer.c.any() for layer in (model.lstm1, model.lstm3))


@pytest.mark.filterwarnings("ignore:The tensor attributes .*_flat_weights")
def test_exported_module_runs():
    """`torch.export`'s module is a GraphModule: layer names may not hide its attributes."""
    path = ROOT / "specs" / "lstm_autoencoder_unet.yaml"
    model = specc.build(path, backend="torch").eval()
    x = torch.randn(2, 30, 16)
    exported = torch.export.export(model, (x,)).module()
    with torch.no_grad():
        assert torch.allclose(exported(x), model(x), atol=1e-5)
    # layers named after GraphModule's attributes get other attribute names
    text = "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [3]}\nlayers:\n"
    text += "".join(
        f"  - {{name: {n}, op: dense, units: 2}}\n" for n in ("code", "graph", "recompile")
    )
    model = specc.build(text, backend="torch").eval()
    x = torch.randn(2, 3)
    with torch.no_grad():
        assert torch.allclose(torch.export.export(model, (x,)).module()(x), model(x))


@pytest.mark.parametrize(
    "layer", ["op: lstm, recurrent_dropout: 0.2", "op: lstm, variant: peephole"]
)
def test_step_by_step_layers_compile(layer: str):
    """Dynamo traces a step-by-step layer (W502, a variant): it subclasses no
    `nn.LSTM`, which dynamo would not trace (`allow_rnn`). A fused layer ends the
    graph: dynamo compiles what comes before it and runs the rest eagerly."""
    text = _one_layer(f"{layer}, units: 4", steps=4).replace(
        "layers:\n", "layers:\n  - {name: d, op: dense, units: 3, activation: relu}\n"
    )
    text += "  - {name: out, op: dense, units: 2}\n"
    x = torch.randn(2, 4, 3)
    stepped = torch._dynamo.explain(specc.build(text, backend="torch").eval())(x)
    assert stepped.graph_count >= 1 and not stepped.break_reasons
    assert stepped.op_count >= 3 * 4  # each of the 4 steps' gate math, and the denses
    fused = specc.build(text.replace(layer, "op: lstm"), backend="torch").eval()
    explained = torch._dynamo.explain(fused)(x)
    assert explained.break_reasons and explained.op_count < 4  # the first dense, relu


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy ONNX exporter
def test_stateful_models_refuse_to_export():
    """An exported graph keeps no state between calls (the legacy ONNX exporter would
    bake in its trace's state, torch.export and the dynamo exporter would freeze it as
    constants): a stateful layer says so, by name, and what to export instead. The
    refusal comes before the legacy exporter needs the `onnx` package."""
    model = specc.build(ROOT / "specs" / "stateful_stacked_lstm.yaml", backend="torch")
    x = torch.randn(32, 8, 16)
    expected = "stateful layer `lstm1` .* `stateful: false` and `return_state: true`"
    with pytest.raises(RuntimeError, match=expected):
        torch.onnx.export(model.eval(), (x,), io.BytesIO(), dynamo=False)
    with pytest.raises(RuntimeError, match=expected):
        torch.export.export(model, (x,))
    with pytest.raises(ValueError, match="batches of 32 rows .* got 16: .*drop_last=True"):
        model(x[:16])


def test_a_reshape_to_variable_dims_is_refused_before_any_backend():
    """Once E601 from this emitter; now validation refuses it (E405), for every backend."""
    text = """\
specc: 1
name: refused
dims: {T: null, U: null}
inputs:
  - {name: x, shape: [6, 4]}
layers:
  - {name: a, op: reshape, target_shape: [T, U]}
"""
    with pytest.raises(specc.SpecError) as info:
        specc.emit(text, backend="torch")
    (d,) = info.value.diagnostics
    line = text.splitlines()[6]
    assert (d.code, d.span.line, d.span.column) == ("E405", 7, line.index("T,") + 1)


@pytest.mark.parametrize(
    "attrs",
    [
        "op: layer_norm, scale: false",
        "op: batch_norm, center: false",
        "op: batch_norm, scale: false",
        "op: batch_norm, scale: false, center: false",
    ],
)
def test_gain_and_shift_chosen_separately(attrs: str):
    text = _one_layer(attrs, 5, 3)
    source = specc.emit(text, backend="torch")
    model, _ = check_model(text, source)
    names = {name for name, _ in model.named_parameters()}
    expected = {"r.weight"} if "scale: false" not in attrs else set()
    expected |= {"r.bias"} if "center: false" not in attrs else set()
    assert names == expected


def test_batch_norm_trains_on_one_row():
    """One value per feature: Keras's statistics are that value and a zero variance
    (the output is the shift), where `nn.BatchNorm1d` alone would refuse."""
    norm = runtime.BatchNorm(3, eps=1e-3, momentum=0.25).train()
    with torch.no_grad():
        norm.bias.fill_(0.5)
    x = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.equal(norm(x), torch.full((1, 3), 0.5))
    assert torch.allclose(norm.norm.running_mean, 0.25 * x[0])
    assert torch.allclose(norm.norm.running_var, torch.full((3,), 0.75))


def _one_layer(layer: str, steps: int = 6, features: int = 3):
    return f"""\
specc: 1
name: one
inputs:
  - {{name: x, shape: [{steps}, {features}]}}
layers:
  - {{name: r, {layer}}}
"""


@pytest.mark.parametrize("op", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("sequences", [False, True])
def test_step_loop_equals_the_fused_kernel(op: str, bidirectional: bool, sequences: bool):
    """The per-step cell (used for recurrent dropout) gives the fused layer's outputs."""
    attrs = (
        f"op: {op}, units: 4, recurrent_dropout: 0.3, return_sequences: {str(sequences).lower()}"
    )
    if bidirectional:
        attrs += ", bidirectional: true, merge_mode: ave"
    model = specc.build(_one_layer(attrs), backend="torch").eval()
    assert isinstance(model.r, runtime.StepByStep)
    plain = specc.build(_one_layer(attrs.replace(", recurrent_dropout: 0.3", "")), backend="torch")
    assert isinstance(plain.r, torch.nn.RNNBase)  # the fused layer, same parameter names
    x = torch.randn(2, 6, 3)
    with torch.no_grad():
        for p in model.r.parameters():
            p.uniform_(-0.5, 0.5)
        plain.load_state_dict(model.state_dict())
        assert torch.allclose(model(x), plain.eval()(x), atol=1e-5)


def test_custom_activations_follow_the_cell_equations():
    attrs = "op: lstm, units: 4, activation: relu, recurrent_activation: hard_sigmoid"
    model = specc.build(_one_layer(attrs), backend="torch").eval()
    layer = model.r
    x = torch.randn(2, 6, 3)
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-0.5, 0.5)
        b = layer.bias_ih_l0 + layer.bias_hh_l0
        expected = _lstm_reference(
            x, layer.weight_ih_l0, layer.weight_hh_l0, b, 4, torch.relu, F.hardsigmoid
        )
        assert torch.allclose(model(x), expected, atol=1e-5)


@pytest.mark.parametrize(
    "op, mode",
    [("lstm", "state"), ("lstm", "update"), ("gru", "state"), ("gru", "update"), ("rnn", "state")],
)
def test_recurrent_dropout_in_training(op: str, mode: str):
    attrs = f"op: {op}, units: 8, dropout: 0.2, recurrent_dropout: 0.5, bidirectional: true"
    if mode == "update":
        attrs += ", recurrent_dropout_mode: update"
    model = specc.build(_one_layer(attrs), backend="torch").train()
    x = torch.randn(3, 6, 3)
    first, second = model(x), model(x)
    assert first.shape == second.shape == (3, 16)
    assert not torch.allclose(first, second)  # fresh masks per batch
    model.double()
    x = x.double()

    def loss():  # the same masks on every call
        torch.manual_seed(7)
        return model(x).sin().sum()

    loss().backward()
    _assert_every_parameter_learns(model)
    # the gradient is the loss's derivative, masks included: a central difference along a
    # random direction in parameter space agrees with it
    params = list(model.parameters())
    direction = [torch.randn_like(p) for p in params]
    slope = sum((p.grad * d).sum() for p, d in zip(params, direction, strict=True))
    eps = 1e-5
    with torch.no_grad():
        values = []
        for sign in (1, -2, 1):  # to +eps, to -eps, back
            for p, d in zip(params, direction, strict=True):
                p.add_(sign * eps * d)
            values.append(loss())
    assert abs((values[0] - values[1]) / (2 * eps) - slope) < 1e-6 * max(1.0, abs(slope))


def test_gru_reset_before_follows_keras_equations():
    """reset_after: false: h' = (1 - z) n + z h, n = tanh(W_n x + b_n + U_n (r h))."""
    attrs = "op: gru, units: 4, reset_after: false, bidirectional: true, merge_mode: concat"
    model = specc.build(_one_layer(attrs), backend="torch").eval()
    layer = model.r
    x = torch.randn(2, 6, 3)

    def reference(seq, w_ih, w_hh, b):
        h = seq.new_zeros(seq.shape[0], 4)
        for t in range(seq.shape[1]):
            x_r, x_z, x_n = (seq[:, t] @ w_ih.T + b).chunk(3, -1)
            u_r, u_z, u_n = w_hh.chunk(3, 0)
            r, z = torch.sigmoid(x_r + h @ u_r.T), torch.sigmoid(x_z + h @ u_z.T)
            h = (1 - z) * torch.tanh(x_n + (r * h) @ u_n.T) + z * h
        return h

    with torch.no_grad():
        fw = reference(x, layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0)
        bw = reference(
            x.flip(1),
            layer.weight_ih_l0_reverse,
            layer.weight_hh_l0_reverse,
            layer.bias_ih_l0_reverse,
        )
        assert torch.allclose(model(x), torch.cat([fw, bw], -1), atol=1e-5)


# The variants' gates and wiring come from the one table, specc.variants.
VARIANT_NAMES = sorted(name for name in VARIANTS if name != "standard")


def _variant_reference(variant: str, x, p: dict, units: int):
    """Greff et al. (2017) / Ba et al. (2016) in plain NumPy, one step at a time."""
    import numpy as np

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    def norm(v, gain, shift):
        return (v - v.mean(-1, keepdims=True)) / np.sqrt(
            v.var(-1, keepdims=True) + 1e-5
        ) * gain + shift

    v = VARIANTS[variant]
    names = v.gates
    rows = {k: slice(j * units, (j + 1) * units) for j, k in enumerate(names)}
    bias = p.get("bias", np.zeros(len(names) * units))
    peep = {}
    if "peephole" in p:
        peep = dict(zip(v.peepholes, p["peephole"], strict=True))
    batch = x.shape[0]
    h = np.zeros((batch, units))
    c = np.zeros((batch, units))
    prev = {k: np.zeros((batch, units)) for k in "ifo"}
    out = []
    for t in range(x.shape[1]):
        if v.layer_norm:  # Ba et al. (2016), eq. 20
            pre = norm(x[:, t] @ p["weight_ih"].T, p["norm_input.weight"], p["norm_input.bias"])
            pre = pre + norm(h @ p["weight_hh"].T, p["norm_hidden.weight"], p["norm_hidden.bias"])
        else:
            pre = x[:, t] @ p["weight_ih"].T + h @ p["weight_hh"].T + bias
        pre = {k: pre[:, rows[k]] for k in names}
        if v.gate_recurrence:
            m = p["gate_recurrence"]
            for a, ka in enumerate("ifo"):
                for b, kb in enumerate("ifo"):
                    block = m[a * units : (a + 1) * units, b * units : (b + 1) * units]
                    pre[ka] = pre[ka] + prev[kb] @ block.T
        i = sigmoid(pre["i"] + peep.get("i", 0) * c) if "i" in names else 1.0
        f = sigmoid(pre["f"] + peep.get("f", 0) * c) if "f" in names else 1.0
        if v.coupled_forget:
            f = 1 - i
        z = np.tanh(pre["g"]) if v.input_activation else pre["g"]
        c = f * c + i * z
        o = sigmoid(pre["o"] + peep.get("o", 0) * c) if "o" in names else 1.0
        if v.layer_norm:
            cell = np.tanh(norm(c, p["norm_cell.weight"], p["norm_cell.bias"]))
        else:
            cell = np.tanh(c) if v.output_activation else c
        h = o * cell
        if v.gate_recurrence:
            prev = {"i": i, "f": f, "o": o}
        out.append(h)
    return np.stack(out, 1)


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_lstm_variant_matches_a_numpy_reference(variant: str):
    attrs = f"op: lstm, units: 3, variant: {variant}, return_sequences: true, bidirectional: true"
    model = specc.build(_one_layer(attrs, steps=5, features=2), backend="torch").eval()
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.r.parameters():
            p.uniform_(-0.8, 0.8)
        x = torch.randn(2, 5, 2, dtype=torch.float64)
        got = model.double()(x).numpy()
    for direction, suffix in enumerate(["_l0", "_l0_reverse"]):
        params = {
            name.replace(suffix, ""): value.detach().numpy()
            for name, value in model.r.named_parameters()
            if name.endswith(suffix) or f"{suffix}." in name
        }
        seq = x.numpy()[:, ::-1] if direction else x.numpy()
        expected = _variant_reference(variant, seq, params, 3)
        expected = expected[:, ::-1] if direction else expected
        half = got[..., direction * 3 : (direction + 1) * 3]
        assert abs(half - expected).max() < 1e-9, variant


# Keras itself, where it is installed: the same layer with the same weights gives the same output.


def _keras():
    return pytest.importorskip("keras")


def _torch_out(layer_yaml: str, x, steps: int, features: int):
    model = specc.build(_one_layer(layer_yaml, steps, features), backend="torch").eval()
    torch.manual_seed(2)
    with torch.no_grad():
        for p in model.r.parameters():
            p.uniform_(-0.5, 0.5)
        return model, model(torch.from_numpy(x)).numpy()


def _rnn_weights(layer, suffix: str):
    """Keras's (kernel, recurrent_kernel, bias) from PyTorch's LSTM or RNN weights."""
    w_ih, w_hh, b_ih, b_hh = (
        getattr(layer, f"{name}_l0{suffix}").detach().numpy()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )
    return [w_ih.T, w_hh.T, b_ih + b_hh]


# Every op-table case is compared with Keras by test_cross_backend (weights moved, 1e-5):
# merge modes, return_sequences, reset_after, dilation and causal padding among them. Only
# settings that no op-table case holds are compared with Keras here.
@pytest.mark.parametrize(
    "op, extra",
    [
        ("rnn", "activation: relu, bidirectional: true"),
        ("lstm", "activation: relu, recurrent_activation: hard_sigmoid, recurrent_dropout: 0.3"),
    ],
)
def test_recurrent_activations_equal_keras(op: str, extra: str):
    keras = _keras()
    import numpy as np

    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    model, got = _torch_out(f"op: {op}, units: 4, {extra}", x, 6, 3)
    if op == "rnn":
        layer = keras.layers.Bidirectional(keras.layers.SimpleRNN(4, activation="relu"))
        layer.build((2, 6, 3))
        layer.forward_layer.set_weights(_rnn_weights(model.r, ""))
        layer.backward_layer.set_weights(_rnn_weights(model.r, "_reverse"))
    else:
        layer = keras.layers.LSTM(4, activation="relu", recurrent_activation="hard_sigmoid")
        layer.build((2, 6, 3))
        layer.set_weights(_rnn_weights(model.r, ""))
    assert np.abs(got - np.asarray(layer(x))).max() < 1e-5


def test_conv1d_same_padding_with_an_even_kernel_equals_keras():
    """An even kernel under `padding: same` with a stride (no op-table case holds one)."""
    keras = _keras()
    import numpy as np

    attrs = "op: conv1d, filters: 4, kernel_size: 4, strides: 3, padding: same"
    x = np.random.default_rng(0).normal(size=(2, 11, 3)).astype("float32")
    model, got = _torch_out(attrs, x, 11, 3)
    layer = keras.layers.Conv1D(4, 4, strides=3, padding="same")
    layer.build((2, 11, 3))
    kernel = model.r.weight.detach().numpy().transpose(2, 1, 0)  # (out, in, k) -> (k, in, out)
    layer.set_weights([kernel, model.r.bias.detach().numpy()])
    assert np.abs(got - np.asarray(layer(x))).max() < 1e-5


def test_emitting_does_not_import_torch():
    """`specc compile --backend torch` works on machines without torch."""
    code = (
        "import sys, specc; specc.emit(sys.argv[1], backend='torch'); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(SKIP_DEEP)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", list(emitted_specs()), ids=spec_id)
def test_meta_device_then_reset_parameters(path: Path):
    """FSDP2's way: build on the meta device, `to_empty`, `reset_parameters` on the model.

    The result equals a model built on the CPU and reset from the same seed:
    every parameter and buffer is initialised by `reset_parameters`, none is
    left to the constructors.
    """
    module = load_source(specc.emit(path, backend="torch"), "torch:test")
    reference = module.build_model()
    with torch.device("meta"):
        model = module.build_model()
    assert all(p.is_meta for p in model.parameters())
    model.to_empty(device="cpu")
    for each in (reference, model):
        torch.manual_seed(3)
        each.reset_parameters()
    state, expected = model.state_dict(), reference.state_dict()
    assert state.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(state[name], value), name
    for (name, buffer), (_, other) in zip(
        reference.named_buffers(), model.named_buffers(), strict=True
    ):
        assert torch.equal(buffer, other), name


def test_reset_parameters_restores_keras_biases():
    text = """\
specc: 1
name: rb
inputs:
  - {name: x, shape: [6, 3]}
layers:
  - {name: a, op: lstm, units: 4, bidirectional: true, return_sequences: true}
  - {name: b, op: gru, units: 4, return_sequences: true}
  - {name: c, op: lstm, units: 4, forget_bias: 0.5, variant: peephole}
"""
    model = specc.build(text, backend="torch")
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)
    model.reset_parameters()
    for name in ("bias_ih_l0", "bias_ih_l0_reverse"):
        bias = getattr(model.a, name)
        assert torch.equal(bias, torch.tensor([0.0] * 4 + [1.0] * 4 + [0.0] * 8))
    assert not model.a.bias_hh_l0.any() and not model.b.bias_ih_l0.any()
    assert torch.equal(model.c.bias_l0, torch.tensor([0.0] * 4 + [0.5] * 4 + [0.0] * 8))
    assert (model.a.weight_ih_l0.abs() <= 0.5).all()  # PyTorch's uniform(-1/sqrt(u), 1/sqrt(u))


# Names belong to the user: attributes that nn.Module, GraphModule or Python reserve.
USER_NAMES = """\
specc: 1
name: names
inputs:
  - {name: input, shape: [5, 3]}
layers:
  - {name: output, op: lstm, units: 4, return_sequences: true}
  - {name: code, op: dense, units: 4}
  - {name: forward, op: add, inputs: [output, code]}
  - {name: training, op: gru, units: 4, bidirectional: true, return_sequences: true}
  - {name: zero_grad, op: dense, units: 4}
  - {name: to, op: lstm, units: 4, return_sequences: true, dropout: 0.1}
  - {name: to_, op: dense, units: 4}
  - {name: class, op: dense, units: 4}
  - {name: self, op: dense, units: 4}
  - {name: type, op: dense, units: 4, inputs: self}
  - {name: state_dict, op: add, inputs: [type, class]}
  - {name: name, op: lstm, units: 2, variant: peephole}
  - {name: compile, op: dense, units: 2}
"""


def test_module_names_keep_safe_names_and_rename_the_rest():
    graph = specc.validate(USER_NAMES).graph
    names = module_names(graph)
    assert list(names) == [n.name for n in graph.order if n.op != "input"]
    renamed = {spec: attr for spec, attr in names.items() if spec != attr}
    assert renamed == {
        "code": "code_",
        "forward": "forward_",
        "training": "training_",
        "zero_grad": "zero_grad_",
        "to": "to_1",  # `to_` is a spec layer's own name
        "class": "class_",
        "type": "type_",
        "state_dict": "state_dict_",
        "compile": "compile_",
    }
    assert len(set(names.values())) == len(names)


@pytest.mark.filterwarnings("ignore:The tensor attributes .*_flat_weights")
def test_user_names_build_run_and_export():
    graph = specc.validate(USER_NAMES).graph
    source = specc.emit(USER_NAMES, backend="torch")
    assert "self.to_1 = nn.LSTM(4, 4, batch_first=True)  # spec layer to" in source
    assert "self.class_ = nn.Linear(4, 4)  # spec layer class" in source
    assert _ruff("check", source=source).returncode == 0
    model, _ = check_model(USER_NAMES, source)
    names = module_names(graph)
    prefixes = {key.split(".")[0] for key in model.state_dict()}
    assert prefixes == {names[n] for n in names if graph.node(n).op not in ("add",)}
    assert model.name.weight_ih_l0.shape == (8, 4)  # the layer, not nn.Module's attribute
    model.zero_grad()  # nn.Module's own methods still work
    assert model.training is False and callable(model.to)
    x = torch.randn(2, 5, 3)
    exported = torch.export.export(model, (x,)).module()
    with torch.no_grad():
        assert torch.allclose(exported(x), model(x), atol=1e-5)


def test_shared_layers_are_one_module():
    """`shares:` calls one module at every site: `parameters()` yields its weights once,
    a root that reaches no output (`enc`) included, and the counts are specc's."""
    graph = specc.load(SHARED)
    model = specc.build(SHARED, backend="torch")
    assert sum(p.numel() for p in model.parameters()) == summary_data(graph)["params"]["torch"]
    assert sorted(name for name, _ in model.named_children()) == ["enc", "head", "t2_p", "t_p"]
    names = module_names(graph)
    assert names["enc_b"] == "enc" and names["t_q_1"] == names["t_q_2"] == "t_p"
    a, b = torch.randn(2, 5, 6), torch.randn(2, 7, 6)
    enc_b, head_b, _ = model(a, b)
    assert enc_b.shape == (2, 4) and head_b.shape == (2, 5, 3)
    torch.testing.assert_close(enc_b, model.enc(b)[0][:, -1])


PICKLED = """\
import sys
import torch
import specc
spec, path, x_path, y_path = sys.argv[1:]
specc.build(spec, backend="torch")  # makes the model's module again, under its name
model = torch.load(path, weights_only=False)
assert type(model).__module__.startswith("specc_generated_")
with torch.no_grad():
    torch.testing.assert_close(model.eval()(*torch.load(x_path)), torch.load(y_path))
"""


def test_built_models_pickle_and_load_in_a_fresh_process(tmp_path):
    """`torch.save(model)` (and so `mp.spawn`, Ray) pickles a `specc.build` model by its
    class; a fresh process loads it once `specc.build` has made the module again."""
    import pickle
    import subprocess

    spec = ROOT / "specs" / "seq2seq_states.yaml"
    model = specc.build(spec, backend="torch").eval()
    again = pickle.loads(pickle.dumps(model))
    assert type(again) is type(model)
    assert specc.build(spec, backend="torch").__class__ is type(model)  # one module per source
    x = [torch.randn(2, 4, 71), torch.randn(2, 3, 93)]
    with torch.no_grad():
        y = model(*x)
    torch.save(model, tmp_path / "model.pt")
    torch.save(x, tmp_path / "x.pt")
    torch.save(y, tmp_path / "y.pt")
    script = tmp_path / "load.py"
    script.write_text(PICKLED)
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            str(spec),
            *(str(tmp_path / n) for n in ("model.pt", "x.pt", "y.pt")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
