"""One table of layer cases: the shape rules, and later each backend, are held to it.

Each case is one layer applied to inputs of given shapes (batch excluded).
`shape` is the expected output shape (batch excluded: ints, dim names or
None) and `params` the expected (Keras, PyTorch) parameter counts; or
`error` names the diagnostic code the case must raise. Parameter counts were
checked against keras 3.15 `count_params()` and torch 2.13 `parameters()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    op: str
    attrs: dict
    inputs: list  # shapes without batch, one per input
    shape: tuple | None = None
    params: tuple[int, int] = (0, 0)
    error: str | None = None
    dims: dict = field(default_factory=dict)
    dtypes: tuple = ()
    batch_size: int | None = None


C = Case
CASES = [
    # recurrent
    C("lstm_last", "lstm", {"units": 16}, [(10, 8)], (16,), (1600, 1664)),
    C("lstm_seq", "lstm", {"units": 16, "return_sequences": True}, [(10, 8)], (10, 16),
      (1600, 1664)),
    C("lstm_bidir_concat", "lstm", {"units": 16, "bidirectional": True}, [(10, 8)], (32,),
      (3200, 3328)),
    C("lstm_bidir_sum", "lstm", {"units": 16, "bidirectional": True, "merge_mode": "sum",
                                 "return_sequences": True}, [(10, 8)], (10, 16), (3200, 3328)),
    C("lstm_bidir_ave", "lstm", {"units": 4, "bidirectional": True, "merge_mode": "ave"},
      [(None, 3)], (4,), (2 * 4 * (12 + 16 + 4), 2 * 4 * (12 + 16 + 8))),
    C("lstm_no_bias", "lstm", {"units": 16, "use_bias": False}, [(10, 8)], (16,), (1536, 1536)),
    C("lstm_variable_time", "lstm", {"units": 4, "return_sequences": True}, [("T", 3)], ("T", 4),
      (128, 144), dims={"T": None}),
    C("lstm_peephole", "lstm", {"units": 4, "variant": "peephole"}, [(5, 3)], (4,),
      (4 * (12 + 16 + 4) + 12,) * 2),
    C("lstm_cifg", "lstm", {"units": 4, "variant": "cifg"}, [(5, 3)], (4,),
      (3 * (12 + 16 + 4) + 8,) * 2),
    C("lstm_fgr", "lstm", {"units": 4, "variant": "fgr"}, [(5, 3)], (4,),
      (4 * (12 + 16 + 4) + 12 + 9 * 16,) * 2),
    C("lstm_layer_norm", "lstm", {"units": 4, "variant": "layer_norm"}, [(5, 3)], (4,),
      (4 * (12 + 16) + 2 * 32 + 8,) * 2),
    C("gru", "gru", {"units": 16}, [(10, 8)], (16,), (1248, 1248)),
    C("gru_reset_before", "gru", {"units": 16, "reset_after": False}, [(10, 8)], (16,),
      (1200, 1200)),
    C("gru_bidir_mul", "gru", {"units": 16, "bidirectional": True, "merge_mode": "mul"},
      [(10, 8)], (16,), (2496, 2496)),
    C("rnn", "rnn", {"units": 16, "return_sequences": True}, [(10, 8)], (10, 16), (400, 416)),
    C("lstm_needs_sequence", "lstm", {"units": 4}, [(8,)], error="E402"),
    C("lstm_needs_static_features", "lstm", {"units": 4}, [(5, "F")], error="E405",
      dims={"F": None}),
    C("lstm_stateful_needs_batch", "lstm", {"units": 4, "stateful": True}, [(5, 3)],
      error="E405"),
    C("lstm_stateful", "lstm", {"units": 4, "stateful": True}, [(5, 3)], (4,), (128, 144),
      batch_size=2),
    C("lstm_two_inputs", "lstm", {"units": 4}, [(5, 3), (5, 3)], error="E403"),
    # dense family
    C("dense_2d", "dense", {"units": 5}, [(8,)], (5,), (45, 45)),
    C("dense_3d", "dense", {"units": 5, "use_bias": False}, [(10, 8)], (10, 5), (40, 40)),
    C("dense_needs_static", "dense", {"units": 5}, [("F",)], error="E405", dims={"F": None}),
    C("time_distributed_dense", "time_distributed", {"layer": {"op": "dense", "units": 3}},
      [(10, 8)], (10, 3), (27, 27)),
    C("time_distributed_rank", "time_distributed", {"layer": {"op": "dense", "units": 3}},
      [(8,)], error="E402"),
    C("time_distributed_lstm", "time_distributed", {"layer": {"op": "lstm", "units": 2}},
      [(4, 5, 3)], (4, 2), (48, 56)),
    C("embedding", "embedding", {"input_dim": 100, "output_dim": 8}, [(12,)], (12, 8),
      (800, 800), dtypes=("int32",)),
    C("embedding_needs_int", "embedding", {"input_dim": 100, "output_dim": 8}, [(12,)],
      error="E409"),
    C("embedding_mask_zero", "embedding", {"input_dim": 100, "output_dim": 8, "mask_zero": True},
      [(12,)], (12, 8), (800, 800), dtypes=("int32",)),
    C("embedding_mask_zero_needs_time_ids", "embedding",
      {"input_dim": 100, "output_dim": 8, "mask_zero": True}, [(3, 12)], error="E402",
      dtypes=("int32",)),
    # shape ops
    C("repeat_vector", "repeat_vector", {"n": 6}, [(8,)], (6, 8)),
    C("repeat_vector_variable_dim", "repeat_vector", {"n": "T"}, [(8,)], error="E405",
      dims={"T": None}),
    C("repeat_vector_static_dim", "repeat_vector", {"n": "T"}, [(8,)], (7, 8), dims={"T": 7}),
    C("repeat_vector_unknown_dim", "repeat_vector", {"n": "U"}, [(8,)], error="E304"),
    C("repeat_vector_rank", "repeat_vector", {"n": 3}, [(5, 8)], error="E402"),
    C("permute", "permute", {"dims": [2, 1]}, [(10, 8)], (8, 10)),
    C("permute_3", "permute", {"dims": [3, 1, 2]}, [(2, 3, 4)], (4, 2, 3)),
    C("permute_bad", "permute", {"dims": [1, 1]}, [(10, 8)], error="E404"),
    C("permute_wrong_length", "permute", {"dims": [1]}, [(10, 8)], error="E404"),
    C("reshape", "reshape", {"target_shape": [5, 16]}, [(10, 8)], (5, 16)),
    C("reshape_infer", "reshape", {"target_shape": [-1, 4]}, [(10, 8)], (20, 4)),
    C("reshape_mismatch", "reshape", {"target_shape": [3, 3]}, [(10, 8)], error="E406"),
    C("reshape_two_unknown", "reshape", {"target_shape": [-1, -1]}, [(10, 8)], error="E406"),
    C("reshape_not_divisible", "reshape", {"target_shape": [-1, 3]}, [(10, 8)], error="E406"),
    C("reshape_variable", "reshape", {"target_shape": [-1, 4]}, [("T", 8)], (None, 4),
      dims={"T": None}),
    C("flatten", "flatten", {}, [(10, 8)], (80,)),
    C("flatten_variable", "flatten", {}, [("T", 8)], (None,), dims={"T": None}),
    C("global_avg_pool", "global_avg_pool", {}, [(10, 8)], (8,)),
    C("global_max_pool", "global_max_pool", {}, [(10, 8)], (8,)),
    C("global_pool_rank", "global_max_pool", {}, [(8,)], error="E402"),
    C("last_step", "last_step", {}, [("T", 8)], (8,), dims={"T": None}),
    # merges
    C("add", "add", {}, [(10, 8), (10, 8)], (10, 8)),
    C("add_three", "add", {}, [(8,), (8,), (8,)], (8,)),
    C("add_mismatch", "add", {}, [(10, 8), (10, 4)], error="E401"),
    C("add_one_input", "add", {}, [(10, 8)], error="E403"),
    C("add_variable_dims", "add", {}, [("T", 8), ("T", 8)], ("T", 8), dims={"T": None}),
    C("add_unrelated_variable_dims", "add", {}, [(None, 8), (None, 8)], error="E401"),
    C("subtract", "subtract", {}, [(8,), (8,)], (8,)),
    C("subtract_three", "subtract", {}, [(8,), (8,), (8,)], error="E403"),
    C("multiply", "multiply", {}, [(8,), (8,)], (8,)),
    C("average", "average", {}, [(8,), (8,)], (8,)),
    C("maximum", "maximum", {}, [(8,), (8,)], (8,)),
    C("minimum", "minimum", {}, [(8,), (8,)], (8,)),
    C("concatenate", "concatenate", {}, [(10, 8), (10, 4)], (10, 12)),
    C("concatenate_time", "concatenate", {"axis": 1}, [(10, 8), (5, 8)], (15, 8)),
    C("concatenate_variable", "concatenate", {"axis": 1}, [("T", 8), ("T", 8)], (None, 8),
      dims={"T": None}),
    C("concatenate_mismatch", "concatenate", {}, [(10, 8), (5, 4)], error="E401"),
    C("concatenate_bad_axis", "concatenate", {"axis": 3}, [(10, 8), (10, 8)], error="E408"),
    # regularise
    C("dropout", "dropout", {"rate": 0.5}, [(10, 8)], (10, 8)),
    C("activation", "activation", {"activation": "relu"}, [(10, 8)], (10, 8)),
    C("masking", "masking", {}, [(10, 8)], (10, 8)),
    C("masking_value", "masking", {"mask_value": -1.0}, [("T", 8)], ("T", 8), dims={"T": None}),
    C("masking_needs_sequence", "masking", {}, [(8,)], error="E402"),
    C("layer_norm", "layer_norm", {}, [(10, 8)], (10, 8), (16, 16)),
    C("layer_norm_no_center", "layer_norm", {"center": False}, [(10, 8)], (10, 8), (8, 8)),
    C("batch_norm", "batch_norm", {}, [(10, 8)], (10, 8), (32, 16)),
    C("batch_norm_rank", "batch_norm", {}, [(2, 3, 4)], error="E402"),
    # attention
    C("timestep_attention", "timestep_attention", {}, [(10, 8)], (10, 8), (110, 110)),
    C("timestep_attention_variable", "timestep_attention", {}, [("T", 8)], error="E405",
      dims={"T": None}),
    C("attention", "attention", {}, [(10, 8), (12, 8)], (10, 8)),
    C("attention_key", "attention", {"use_scale": True}, [(10, 8), (12, 6), (12, 8)], (10, 6),
      (1, 1)),
    C("attention_concat", "attention", {"score_mode": "concat", "use_scale": True},
      [(10, 8), (12, 8)], (10, 8), (2, 2)),
    C("attention_width", "attention", {}, [(10, 8), (12, 6)], error="E407"),
    C("attention_key_length", "attention", {}, [(10, 8), (12, 8), (11, 8)], error="E407"),
    C("attention_one_input", "attention", {}, [(10, 8)], error="E403"),
    C("mha_self", "multi_head_attention", {"num_heads": 2, "key_dim": 4}, [(10, 8)], (10, 8),
      (288, 288)),
    C("mha_cross", "multi_head_attention", {"num_heads": 2, "key_dim": 4, "value_dim": 3},
      [(10, 8), (7, 6)], (10, 8),
      (8 * 8 + 8 + 6 * 8 + 8 + 6 * 6 + 6 + 6 * 8 + 8,) * 2),
    C("mha_no_bias", "multi_head_attention", {"num_heads": 1, "key_dim": 2, "use_bias": False},
      [(5, 4)], (5, 4), (4 * 2 * 3 + 2 * 4,) * 2),
    # conv
    C("conv1d_valid", "conv1d", {"filters": 6, "kernel_size": 3}, [(10, 8)], (8, 6),
      (150, 150)),
    C("conv1d_same_stride", "conv1d", {"filters": 6, "kernel_size": 3, "padding": "same",
                                       "strides": 2}, [(11, 8)], (6, 6), (150, 150)),
    C("conv1d_causal_dilated", "conv1d", {"filters": 2, "kernel_size": 3, "padding": "causal",
                                          "dilation_rate": 4, "use_bias": False},
      [(10, 8)], (10, 2), (48, 48)),
    C("conv1d_valid_dilated", "conv1d", {"filters": 2, "kernel_size": 3, "dilation_rate": 2},
      [(10, 1)], (6, 2), (8, 8)),
    C("conv1d_stride_and_dilation", "conv1d", {"filters": 2, "kernel_size": 3,
                                               "dilation_rate": 2, "strides": 2},
      [(10, 1)], error="E104"),
    C("conv1d_variable", "conv1d", {"filters": 2, "kernel_size": 3}, [("T", 1)], (None, 2),
      (8, 8), dims={"T": None}),
    C("conv1d_too_short", "conv1d", {"filters": 2, "kernel_size": 5}, [(3, 1)], error="E410"),
]
