"""Built models under PyTorch's distributed training, two gloo ranks on the CPU.

One launch of two processes runs every check (`ranks` below); the tests
compare what each rank saw with single-process runs made here. The
SyncBatchNorm conversion needs no ranks.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import specc
from specc.backends.torch import runtime

ROOT = Path(__file__).resolve().parent.parent
WORLD = 2
BATCH = 2  # per rank: a stateful layer's fixed batch
STEPS = 3  # batches fed, each continuing the last one's state
LR = 0.1


def _spec(batch: int) -> str:
    """Stateful layers of both runtime kinds: a fused `nn.LSTM` and a variant cell."""
    return f"""\
specc: 1
name: carried
batch_size: {batch}
inputs:
  - {{name: x, shape: [5, 3]}}
layers:
  - {{name: a, op: lstm, units: 4, stateful: true, return_sequences: true}}
  - {{name: b, op: lstm, variant: peephole, units: 4, stateful: true}}
  - {{name: out, op: dense, units: 2}}
"""


def _model(batch: int = BATCH):
    torch.manual_seed(0)
    return specc.build(_spec(batch), backend="torch")


def _batches(rank: int) -> list[torch.Tensor]:
    """Each rank's own data: consecutive windows of its rows' sequences."""
    generator = torch.Generator().manual_seed(100 + rank)
    return [torch.randn(BATCH, 5, 3, generator=generator) for _ in range(STEPS)]


def _loss(out: torch.Tensor) -> torch.Tensor:
    return out.square().mean()  # a mean: the ranks' average is the whole batch's


def _ddp(rank: int) -> list[torch.Tensor]:
    """Forward and backward under DDP's defaults (buffers broadcast at every forward)."""
    model = torch.nn.parallel.DistributedDataParallel(_model().train())
    outs = []
    for x in _batches(rank):
        out = model(x)
        _loss(out).backward()
        outs.append(out.detach())
    return outs


def _fully_shard(rank: int) -> dict:
    """FSDP2's way: built on the meta device, each recurrent layer and the model
    sharded, materialised with `to_empty` and `reset_parameters`, then given the
    unsharded model's weights, trained with SGD."""
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor import distribute_tensor

    with torch.device("meta"):
        model = _model()
    for layer in (model.a, model.b):
        fully_shard(layer)
    fully_shard(model)
    model.to_empty(device="cpu")
    model.reset_parameters()
    assert not model.a.h.is_meta and not model.a.h.any()  # the carried state too
    with torch.no_grad():
        for name, value in _model().state_dict().items():
            sharded = model.get_parameter(name)
            local = distribute_tensor(value, sharded.device_mesh, sharded.placements)
            sharded.to_local().copy_(local.to_local())
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    outs = []
    for x in _batches(rank):
        optimizer.zero_grad()
        out = model(x)
        _loss(out).backward()
        optimizer.step()
        outs.append(out.detach())
    weights = {n: p.full_tensor().detach() for n, p in model.named_parameters()}
    return {"outs": outs, "weights": weights}


def _rank(rank: int, folder: str) -> None:
    torch.set_num_threads(1)
    store = f"file://{os.path.join(folder, 'store')}"
    dist.init_process_group("gloo", init_method=store, rank=rank, world_size=WORLD)
    try:
        seen = {"ddp": _ddp(rank), "fsdp": _fully_shard(rank)}
    finally:
        dist.destroy_process_group()
    torch.save(seen, os.path.join(folder, f"rank{rank}.pt"))


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    """What each of two gloo ranks saw, from one launch. Forked, they share what this
    process has loaded: dynamo (DDP imports it, seconds) and specc's emitter."""
    import torch._dynamo  # noqa: F401

    _model()
    folder = tmp_path_factory.mktemp("ranks")
    ranks = mp.start_processes(
        _rank, args=(str(folder),), nprocs=WORLD, join=False, start_method="fork"
    )
    deadline = time.monotonic() + 180  # a hung rank fails the tests, not the whole run
    while not ranks.join(timeout=5):
        if time.monotonic() > deadline:
            for process in ranks.processes:
                process.kill()
            pytest.fail("the two gloo ranks did not finish in 180 s")
    return [torch.load(folder / f"rank{r}.pt") for r in range(WORLD)]


def test_ddp_ranks_carry_their_own_state(ranks):
    """Each rank continues its own rows' state, as a single process would, not rank
    0's: the state is no buffer for DDP to broadcast before every forward."""
    for rank, seen in enumerate(ranks):
        model = _model().train()
        alone = [model(x).detach() for x in _batches(rank)]
        for step, (got, expected) in enumerate(zip(seen["ddp"], alone, strict=True)):
            assert torch.allclose(got, expected, atol=1e-6), (rank, step)
    assert not torch.allclose(ranks[0]["ddp"][-1], ranks[1]["ddp"][-1])


def test_fully_shard_trains_as_the_unsharded_model(ranks):
    """Two ranks of `fully_shard` over their halves of a batch train as one unsharded
    model over the whole batch (its stateful layers twice as wide)."""
    model = _model(WORLD * BATCH).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    whole = [torch.cat(parts) for parts in zip(*map(_batches, range(WORLD)), strict=True)]
    for step, x in enumerate(whole):
        optimizer.zero_grad()
        out = model(x)
        _loss(out).backward()
        optimizer.step()
        got = torch.cat([seen["fsdp"]["outs"][step] for seen in ranks])
        assert torch.allclose(got, out.detach(), atol=1e-6), step
    for seen in ranks:
        for name, value in model.named_parameters():
            assert torch.allclose(seen["fsdp"]["weights"][name], value, atol=1e-6), name


NORMS = """\
specc: 1
name: norms
inputs:
  - {name: x, shape: [4, 6]}
layers:
  - {name: centred, op: batch_norm, scale: false}
  - {name: scaled, op: batch_norm, center: false, momentum: 0.9}
  - {name: steps, op: time_distributed, layer: {op: batch_norm}}
  - {name: pooled, op: global_avg_pool}
  - {name: flat, op: batch_norm, scale: false, center: false}
"""


@pytest.mark.parametrize(
    "spec, shape",
    [(ROOT / "specs" / "crnn_keyword_spotting.yaml", (4, 49, 40)), (NORMS, (4, 4, 6))],
    ids=["crnn_keyword_spotting", "norms"],
)
def test_sync_batch_norm_conversion_keeps_the_model(spec, shape):
    """`convert_sync_batchnorm` swaps each BatchNorm's `nn.BatchNorm1d` for a
    SyncBatchNorm of the same features and statistics, the gain and shift kept.
    Without a process group a SyncBatchNorm normalises the local batch: the
    converted model is then the unconverted one, in training (batch statistics,
    running statistics moved alike, the same gradients) and in evaluation."""
    assert not dist.is_initialized()
    torch.manual_seed(0)
    model = specc.build(spec, backend="torch")
    norms = [m for m in model.modules() if isinstance(m, runtime.BatchNorm)]
    assert norms
    for norm in norms:  # statistics away from their initial values
        norm.norm.running_mean.uniform_(-1.0, 1.0)
        norm.norm.running_var.uniform_(0.5, 2.0)
    converted = torch.nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model))
    pairs = [(n, m) for n, m in converted.named_modules() if isinstance(m, runtime.BatchNorm)]
    assert len(pairs) == len(norms)
    for (name, norm), original in zip(pairs, norms, strict=True):
        assert type(norm.norm) is torch.nn.SyncBatchNorm, name
        assert norm.norm.num_features == original.norm.num_features, name
    state, expected = converted.state_dict(), model.state_dict()
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], v) for k, v in expected.items())
    assert [n for n, _ in converted.named_parameters()] == [n for n, _ in model.named_parameters()]
    x = torch.randn(*shape)
    for train in (True, False):
        model.train(train)
        converted.train(train)
        got, expected = converted(x), model(x)
        assert torch.allclose(got, expected, atol=1e-6), train
        if train:
            got.square().mean().backward()
            expected.square().mean().backward()
    pairs = zip(converted.named_parameters(), model.parameters(), strict=True)
    assert all(torch.allclose(a.grad, b.grad, atol=1e-6) for (_, a), b in pairs)
    state = converted.state_dict()
    assert all(torch.allclose(state[k], v, atol=1e-6) for k, v in model.state_dict().items())
