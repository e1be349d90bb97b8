"""The models of specs/ written by hand in Keras 3, to compare with `specc validate`.

    python benchmarks/keras_models.py

One plain functional-API builder per spec file (keyed by its path under specs/
without the suffix), transcribed by hand from the YAML: the way one would build
each model in Keras only to see its shapes. Run as a script, it builds every
model once and prints its output shape(s). benchmarks/validate_speed.py times
this script against `specc validate specs/` and imports `MODELS`.

The LSTM variants of specs/variants/ (peephole, CIFG, ...) have no Keras layer:
their builders use a plain `keras.layers.LSTM` of the same units as a stand-in,
which has the same output shapes (its parameter count differs).
"""

from __future__ import annotations

import os
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from keras import layers  # noqa: E402


def attention_encoder() -> keras.Model:
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(20000, 128, name="embed")(tokens)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True), name="bilstm")(x)
    for i in (1, 2):  # transformer_block, repeat: 2
        p = f"encoder_{i}_"
        attend = layers.MultiHeadAttention(num_heads=4, key_dim=32, name=p + "attend")(x, x)
        attend = layers.Dropout(0.1, name=p + "attend_drop")(attend)
        x = layers.Add(name=p + "attend_res")([x, attend])
        x = layers.LayerNormalization(epsilon=1e-6, name=p + "attend_norm")(x)
        ffn = layers.Dense(256, activation="relu", name=p + "ffn_hidden")(x)
        ffn = layers.Dense(128, name=p + "ffn_out")(ffn)
        ffn = layers.Dropout(0.1, name=p + "ffn_drop")(ffn)
        x = layers.Add(name=p + "ffn_res")([x, ffn])
        x = layers.LayerNormalization(epsilon=1e-6, name=p + "ffn_norm")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(0.1, name="pool_drop")(x)
    sentiment = layers.Dense(2, activation="softmax", name="sentiment")(x)
    return keras.Model(tokens, sentiment, name="attention_encoder")


def bidirectional_rnn() -> keras.Model:
    x = keras.Input(shape=(64, 32), name="x")
    h = layers.Bidirectional(layers.SimpleRNN(64, return_sequences=True), name="birnn1")(x)
    h = layers.Bidirectional(
        layers.SimpleRNN(64, activation="relu"), merge_mode="ave", name="birnn2"
    )(h)
    classes = layers.Dense(4, activation="softmax", name="classes")(h)
    return keras.Model(x, classes, name="bidirectional_rnn")


def conv_lstm_classifier() -> keras.Model:
    signals = keras.Input(shape=(128, 9), name="signals")
    x = layers.Reshape((4, 32, 9), name="subsequences")(signals)
    x = layers.TimeDistributed(layers.Conv1D(64, 3, activation="relu"), name="conv1")(x)
    x = layers.TimeDistributed(layers.Conv1D(64, 3, activation="relu"), name="conv2")(x)
    x = layers.TimeDistributed(layers.Dropout(0.5), name="conv_drop")(x)
    x = layers.TimeDistributed(layers.Flatten(), name="conv_flat")(x)
    x = layers.LSTM(100, name="window_lstm")(x)
    x = layers.Dropout(0.5, name="lstm_drop")(x)
    x = layers.Dense(100, activation="relu", name="hidden")(x)
    activity = layers.Dense(6, activation="softmax", name="activity")(x)
    return keras.Model(signals, activity, name="conv_lstm_classifier")


def crnn_keyword_spotting() -> keras.Model:
    logmel = keras.Input(shape=(None, 40), name="logmel")
    x = layers.Conv1D(64, 5, strides=2, padding="same", use_bias=False, name="conv")(logmel)
    x = layers.BatchNormalization(name="conv_bn")(x)
    x = layers.Activation("relu", name="conv_relu")(x)
    x = layers.Bidirectional(layers.GRU(64, return_sequences=True), name="bigru1")(x)
    seq = layers.Bidirectional(
        layers.GRU(64, return_sequences=True), merge_mode="sum", name="bigru2"
    )(x)
    mean_pool = layers.GlobalAveragePooling1D(name="mean_pool")(seq)
    max_pool = layers.GlobalMaxPooling1D(name="max_pool")(seq)
    x = layers.Concatenate(name="pooled")([mean_pool, max_pool])
    x = layers.Dense(64, activation="relu", name="hidden")(x)
    keyword = layers.Dense(12, activation="softmax", name="keyword")(x)
    return keras.Model(logmel, keyword, name="crnn_keyword_spotting")


def ensemble_average() -> keras.Model:
    x = keras.Input(shape=(60, 24), name="x")
    x_norm = layers.LayerNormalization(name="x_norm")(x)
    lstm_member = layers.LSTM(64, name="lstm_member")(x_norm)
    lstm_probs = layers.Dense(8, activation="softmax", name="lstm_probs")(lstm_member)
    gru_member = layers.GRU(64, name="gru_member")(x_norm)
    gru_probs = layers.Dense(8, activation="softmax", name="gru_probs")(gru_member)
    bilstm_member = layers.Bidirectional(layers.LSTM(32), name="bilstm_member")(x_norm)
    bilstm_probs = layers.Dense(8, activation="softmax", name="bilstm_probs")(bilstm_member)
    ensemble = layers.Average(name="ensemble")([lstm_probs, gru_probs, bilstm_probs])
    return keras.Model(x, ensemble, name="ensemble_average")


def fused_two_branch_lstm() -> keras.Model:
    series = keras.Input(shape=(48, 12), name="series")
    bi_a1 = layers.Bidirectional(layers.LSTM(32, return_sequences=True), name="bi_a1")(series)
    uni_b1 = layers.LSTM(64, return_sequences=True, name="uni_b1")(series)
    cross1 = layers.Add(name="cross1")([bi_a1, uni_b1])
    bi_a2 = layers.Bidirectional(layers.LSTM(32, return_sequences=True), name="bi_a2")(cross1)
    uni_b2 = layers.LSTM(64, return_sequences=True, name="uni_b2")(uni_b1)
    cross2 = layers.Add(name="cross2")([bi_a2, uni_b2])
    bi_a3 = layers.Bidirectional(layers.LSTM(64), merge_mode="sum", name="bi_a3")(cross2)
    uni_b3 = layers.LSTM(64, name="uni_b3")(cross2)
    x = layers.Concatenate(name="fused")([bi_a3, uni_b3])
    x = layers.Dense(64, activation="relu", name="hidden")(x)
    forecast = layers.Dense(6, name="forecast")(x)
    return keras.Model(series, forecast, name="fused_two_branch_lstm")


def gated_feedback_lstm() -> keras.Model:
    # Keras has no gated-feedback RNN: by hand one would import specc's layer
    from specc.backends.keras.layers import GatedFeedback

    chars = keras.Input(shape=(100,), dtype="int32", name="chars")
    x = layers.Embedding(205, 64, name="embed")(chars)
    x = GatedFeedback(128, 3, cell="lstm", return_sequences=True, name="gf_lstm")(x)
    next_char = layers.TimeDistributed(layers.Dense(205, activation="softmax"), name="next_char")(x)
    return keras.Model(chars, next_char, name="gated_feedback_lstm")


def gru_stack() -> keras.Model:
    frames = keras.Input(shape=(None, 26), name="frames")
    x = layers.GRU(128, return_sequences=True, name="gru1")(frames)
    x = layers.GRU(128, return_sequences=True, dropout=0.2, name="gru2")(x)
    x = layers.GRU(128, return_sequences=True, dropout=0.2, name="gru3")(x)
    tags = layers.Dense(61, activation="softmax", name="tags")(x)
    return keras.Model(frames, tags, name="gru_stack")


def hierarchical_rnn_mnist() -> keras.Model:
    image = keras.Input(shape=(28, 28), name="image")
    rows = layers.Reshape((28, 28, 1), name="rows")(image)
    rows = layers.TimeDistributed(layers.LSTM(128), name="row_encoder")(rows)
    row_summary = layers.LSTM(128, name="row_summary")(rows)
    cols = layers.Permute((2, 1), name="columns_first")(image)
    cols = layers.Reshape((28, 28, 1), name="columns")(cols)
    cols = layers.TimeDistributed(layers.LSTM(128), name="column_encoder")(cols)
    column_summary = layers.LSTM(128, name="column_summary")(cols)
    both = layers.Concatenate(name="both")([row_summary, column_summary])
    digit = layers.Dense(10, activation="softmax", name="digit")(both)
    return keras.Model(image, digit, name="hierarchical_rnn_mnist")


def image_caption() -> keras.Model:
    image = keras.Input(shape=(2048,), name="image")
    caption = keras.Input(shape=(34,), dtype="int32", name="caption")
    img = layers.Dense(256, activation="relu", name="image_dense")(image)
    img = layers.RepeatVector(34, name="image_seq")(img)
    txt = layers.Embedding(7579, 256, name="word_embed")(caption)
    txt = layers.LSTM(256, return_sequences=True, name="text_lstm")(txt)
    txt = layers.TimeDistributed(layers.Dense(256), name="text_proj")(txt)
    x = layers.Concatenate(name="merged")([img, txt])
    x = layers.LSTM(512, name="decoder")(x)
    next_word = layers.Dense(7579, activation="softmax", name="next_word")(x)
    return keras.Model([image, caption], next_word, name="image_caption")


def imdb_masked() -> keras.Model:
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(20000, 128, mask_zero=True, name="embed")(tokens)
    words = layers.LSTM(64, return_sequences=True, zero_output_for_mask=True)
    x = layers.Bidirectional(words, name="words")(x)
    x = layers.Bidirectional(layers.LSTM(64), name="review")(x)
    positive = layers.Dense(1, activation="sigmoid", name="positive")(x)
    return keras.Model(tokens, positive, name="imdb_masked")


def imdb_lstm_recurrent_dropout() -> keras.Model:
    tokens = keras.Input(shape=(80,), dtype="int32", name="tokens")
    x = layers.Embedding(20000, 128, name="embed")(tokens)
    x = layers.LSTM(128, dropout=0.2, recurrent_dropout=0.2, name="encoder")(x)
    positive = layers.Dense(1, activation="sigmoid", name="positive")(x)
    return keras.Model(tokens, positive, name="imdb_lstm_recurrent_dropout")


def joint_intent_slot() -> keras.Model:
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(900, 128, name="embed")(tokens)
    x = layers.LSTM(256, return_sequences=True, dropout=0.1, name="encoder")(x)
    x = layers.Dropout(0.3, name="encoder_drop")(x)
    slots = layers.TimeDistributed(layers.Dense(127, activation="softmax"), name="slots")(x)
    final_state = layers.Lambda(lambda t: t[:, -1], name="final_state")(x)
    intent = layers.Dense(26, activation="softmax", name="intent")(final_state)
    return keras.Model(tokens, [slots, intent], name="joint_intent_slot")


def lstm_autoencoder_unet() -> keras.Model:
    seq = keras.Input(shape=(30, 16), name="seq")
    enc1 = layers.LSTM(64, return_sequences=True, name="enc1")(seq)
    enc2 = layers.LSTM(32, return_sequences=True, name="enc2")(enc1)
    bottleneck = layers.LSTM(16, name="bottleneck")(enc2)
    x = layers.RepeatVector(30, name="repeat_code")(bottleneck)
    dec1 = layers.LSTM(32, return_sequences=True, name="dec1")(x)
    x = layers.Add(name="skip32")([dec1, enc2])
    dec2 = layers.LSTM(64, return_sequences=True, name="dec2")(x)
    x = layers.Concatenate(name="skip64")([dec2, enc1])
    reconstruction = layers.TimeDistributed(layers.Dense(16), name="reconstruction")(x)
    return keras.Model(seq, reconstruction, name="lstm_autoencoder_unet")


def luong_attention() -> keras.Model:
    source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
    target_ids = keras.Input(shape=(None,), dtype="int32", name="target_ids")
    src = layers.Embedding(16000, 256, name="source_embed")(source_ids)
    encoder = layers.LSTM(256, return_sequences=True, name="encoder")(src)
    tgt = layers.Embedding(16000, 256, name="target_embed")(target_ids)
    decoder = layers.LSTM(256, return_sequences=True, name="decoder")(tgt)
    context = layers.Attention(score_mode="dot", name="context")([decoder, encoder])
    x = layers.Concatenate(axis=2, name="context_and_state")([context, decoder])
    x = layers.TimeDistributed(
        layers.Dense(256, activation="tanh", use_bias=False), name="attentional_state"
    )(x)
    next_token = layers.Dense(16000, activation="softmax", name="next_token")(x)
    return keras.Model([source_ids, target_ids], next_token, name="luong_attention")


def pair_classifier() -> keras.Model:
    premise = keras.Input(shape=(None,), dtype="int32", name="premise")
    hypothesis = keras.Input(shape=(None,), dtype="int32", name="hypothesis")
    p = layers.Embedding(30000, 300, name="premise_embed")(premise)
    p = layers.Bidirectional(layers.LSTM(512, return_sequences=True), name="premise_bilstm")(p)
    u = layers.GlobalMaxPooling1D(name="u")(p)
    h = layers.Embedding(30000, 300, name="hypothesis_embed")(hypothesis)
    h = layers.Bidirectional(layers.LSTM(512, return_sequences=True), name="hypothesis_bilstm")(h)
    v = layers.GlobalMaxPooling1D(name="v")(h)
    u_minus_v = layers.Subtract(name="u_minus_v")([u, v])
    u_times_v = layers.Multiply(name="u_times_v")([u, v])
    features = layers.Concatenate(name="features")([u, v, u_minus_v, u_times_v])
    piece1 = layers.Dense(512, name="piece1")(features)
    piece2 = layers.Dense(512, name="piece2")(features)
    x = layers.Maximum(name="maxout")([piece1, piece2])
    entailment = layers.Dense(3, activation="softmax", name="entailment")(x)
    return keras.Model([premise, hypothesis], entailment, name="pair_classifier")


def siamese_lstm() -> keras.Model:
    """Mueller & Thyagarajan (2016): one embedding and one LSTM for both sentences."""
    left = keras.Input(shape=(None,), dtype="int32", name="left")
    right = keras.Input(shape=(None,), dtype="int32", name="right")
    embed = layers.Embedding(1000, 32, name="embed")
    encoder = layers.LSTM(50, name="encoder")
    h_left, h_right = encoder(embed(left)), encoder(embed(right))
    above = layers.Activation("relu", name="above")(
        layers.Subtract(name="left_minus_right")([h_left, h_right])
    )
    below = layers.Activation("relu", name="below")(
        layers.Subtract(name="right_minus_left")([h_right, h_left])
    )
    manhattan = layers.Add(name="manhattan")([above, below])
    similarity = layers.Dense(1, activation="exponential", name="similarity")(manhattan)
    return keras.Model([left, right], similarity, name="siamese_lstm")


def recurrent_twin_critic() -> keras.Model:
    history = keras.Input(shape=(5, 23), name="history")
    observation = keras.Input(shape=(17,), name="observation")
    action = keras.Input(shape=(6,), name="action")
    qs = []
    for p in ("q1_", "q2_"):  # two instances of the critic block, separate weights
        memory = layers.LSTM(128, name=p + "memory")(history)
        current = layers.Concatenate(name=p + "current_in")([observation, action])
        current = layers.Dense(128, activation="relu", name=p + "current")(current)
        x = layers.Concatenate(name=p + "joined")([memory, current])
        x = layers.Dense(128, activation="relu", name=p + "hidden")(x)
        qs.append(layers.Dense(1, name=p + "q")(x))
    q_min = layers.Minimum(name="q_min")(qs)
    return keras.Model(
        [history, observation, action], [qs[0], qs[1], q_min], name="recurrent_twin_critic"
    )


def resnet_lstm() -> keras.Model:
    features = keras.Input(shape=(50, 20), name="features")
    x = features
    # res_lstm block: stage1 (64 units), then stage2 (128 units, dropout 0.1) x 3
    stages = [("stage1_", 64, 0.0)] + [(f"stage2_{i}_", 128, 0.1) for i in (1, 2, 3)]
    for p, units, dropout in stages:
        main = layers.LSTM(units, dropout=dropout, return_sequences=True, name=p + "main1")(x)
        main = layers.LSTM(units, dropout=dropout, return_sequences=True, name=p + "main2")(main)
        shortcut = layers.LSTM(units, return_sequences=True, name=p + "shortcut")(x)
        x = layers.Add(name=p + "sum")([main, shortcut])
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    logits = layers.Dense(5, activation="softmax", name="logits")(x)
    return keras.Model(features, logits, name="resnet_lstm")


def seq2seq() -> keras.Model:
    source = keras.Input(shape=(None, 71), name="source")
    target_in = keras.Input(shape=(24, 93), name="target_in")
    x = layers.LSTM(256, return_sequences=True, name="enc1")(source)
    x = layers.LSTM(256, name="enc2")(x)
    context = layers.RepeatVector(24, name="context")(x)
    x = layers.Concatenate(name="dec_in")([context, target_in])
    x = layers.LSTM(256, return_sequences=True, name="dec1")(x)
    x = layers.LSTM(256, return_sequences=True, name="dec2")(x)
    next_char = layers.TimeDistributed(layers.Dense(93, activation="softmax"), name="next_char")(x)
    return keras.Model([source, target_in], next_char, name="seq2seq")


def seq2seq_states() -> keras.Model:
    source = keras.Input(shape=(None, 71), name="source")
    target_in = keras.Input(shape=(None, 93), name="target_in")
    _, h, c = layers.LSTM(256, return_state=True, name="encoder")(source)
    x = layers.LSTM(256, return_sequences=True, name="decoder")(target_in, initial_state=[h, c])
    next_char = layers.TimeDistributed(layers.Dense(93, activation="softmax"), name="next_char")(x)
    return keras.Model([source, target_in], next_char, name="seq2seq_states")


def bidirectional_encoder_decoder() -> keras.Model:
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    x = layers.Embedding(4000, 128, name="source_embed")(source)
    encoder = layers.Bidirectional(
        layers.LSTM(128, return_sequences=True, return_state=True), name="encoder"
    )
    states, h_fw, c_fw, h_bw, c_bw = encoder(x)
    h = layers.Concatenate(name="encoder.h")([h_fw, h_bw])
    c = layers.Concatenate(name="encoder.c")([c_fw, c_bw])
    y = layers.Embedding(4000, 128, name="target_embed")(target_in)
    y = layers.LSTM(256, return_sequences=True, name="decoder")(y, initial_state=[h, c])
    context = layers.Attention(name="context")([y, states])
    joined = layers.Concatenate(name="joined")([y, context])
    logits = layers.Dense(4000, name="logits")(joined)
    return keras.Model([source, target_in], [logits, h_bw], name="bidirectional_encoder_decoder")


def show_and_tell() -> keras.Model:
    image = keras.Input(shape=(2048,), name="image_features")
    caption_in = keras.Input(shape=(None,), dtype="int32", name="caption_in")
    state = layers.Dense(256, activation="tanh", name="image_state")(image)
    x = layers.Embedding(5000, 256, mask_zero=True, name="words")(caption_in)
    mask = keras.ops.not_equal(caption_in, 0)  # with initial_state, Keras passes no mask itself
    caption = layers.LSTM(256, return_sequences=True, zero_output_for_mask=True, name="caption")
    x = caption(x, initial_state=[state, state], mask=mask)
    x = layers.Dropout(0.5, name="dropped")(x)
    next_word = layers.Dense(5000, activation="softmax", name="next_word")(x)
    return keras.Model([image, caption_in], next_word, name="show_and_tell")


def _skip_deep_lstm_stack(x):
    """bi1 ... res3 of skip_deep_lstm(.yaml) and skip_deep_lstm_attention(.yaml)."""
    bi1 = layers.Bidirectional(layers.LSTM(64, return_sequences=True), name="bi1")(x)
    bi2 = layers.LSTM(128, return_sequences=True, name="bi2")(bi1)
    bi3 = layers.LSTM(128, return_sequences=True, name="bi3")(bi2)
    res1 = layers.Add(name="res1")([bi1, bi3])
    bi4 = layers.LSTM(128, return_sequences=True, name="bi4")(res1)
    bi5 = layers.LSTM(128, return_sequences=True, name="bi5")(bi4)
    res2 = layers.Add(name="res2")([bi1, bi3, bi5])
    bi6 = layers.LSTM(128, return_sequences=True, name="bi6")(res2)
    return layers.Add(name="res3")([bi1, bi3, bi5, bi6])


def skip_deep_lstm() -> keras.Model:
    x = keras.Input(shape=(36, 8), name="x")
    res3 = _skip_deep_lstm_stack(x)
    head = layers.LSTM(256, name="head")(res3)
    out = layers.Dense(1, name="out")(head)
    return keras.Model(x, out, name="skip_deep_lstm")


def skip_deep_lstm_attention() -> keras.Model:
    x = keras.Input(shape=(36, 8), name="x")
    res3 = _skip_deep_lstm_stack(x)
    # timestep_attention (attention_3d_block): a T x T dense layer over the time axis
    a = layers.Permute((2, 1), name="step_attention_permute")(res3)  # (batch, 128, 36)
    a = layers.Dense(36, activation="tanh", name="step_attention_dense")(a)
    a = layers.Permute((2, 1), name="step_attention_weights")(a)  # (batch, 36, 128)
    attended = layers.Multiply(name="step_attention")([res3, a])
    head = layers.LSTM(256, name="head")(attended)
    out = layers.Dense(1, name="out")(head)
    return keras.Model(x, out, name="skip_deep_lstm_attention")


def stacked_lstm_2() -> keras.Model:
    x = keras.Input(shape=(8, 16), name="x")
    h = layers.LSTM(32, return_sequences=True, name="lstm1")(x)
    h = layers.LSTM(32, name="lstm2")(h)
    classes = layers.Dense(10, activation="softmax", name="classes")(h)
    return keras.Model(x, classes, name="stacked_lstm_2")


def stacked_lstm_4() -> keras.Model:
    x = keras.Input(shape=(100, 40), name="x")
    h = layers.LSTM(256, return_sequences=True, name="first")(x)
    h = layers.LSTM(256, return_sequences=True, name="middle_1")(h)
    h = layers.LSTM(256, return_sequences=True, name="middle_2")(h)
    h = layers.LSTM(256, name="last")(h)
    classes = layers.Dense(35, activation="softmax", name="classes")(h)
    return keras.Model(x, classes, name="stacked_lstm_4")


def stateful_stacked_lstm() -> keras.Model:
    window = keras.Input(batch_shape=(32, 8, 16), name="window")
    h = layers.LSTM(32, return_sequences=True, stateful=True, name="lstm1")(window)
    h = layers.LSTM(32, return_sequences=True, stateful=True, name="lstm2")(h)
    h = layers.LSTM(32, stateful=True, name="lstm3")(h)
    classes = layers.Dense(10, activation="softmax", name="classes")(h)
    return keras.Model(window, classes, name="stateful_stacked_lstm")


# specs/variants/: Keras has no layer for these LSTM variants; each builder uses a
# plain keras.layers.LSTM of the same units as the stand-in (same output shapes,
# different parameter count).


def lstm_cifg() -> keras.Model:
    words = keras.Input(shape=(35,), dtype="int32", name="words")
    x = layers.Embedding(10000, 650, name="embed")(words)
    x = layers.Dropout(0.5, name="embed_drop")(x)
    # Stand-ins for CIFG LSTMs; Keras's recurrent dropout masks h_{t-1}, not the
    # candidate update (recurrent_dropout_mode: update).
    x = layers.LSTM(650, return_sequences=True, recurrent_dropout=0.25, name="lstm1")(x)
    x = layers.LSTM(650, return_sequences=True, recurrent_dropout=0.25, name="lstm2")(x)
    x = layers.Dropout(0.5, name="out_drop")(x)
    next_word = layers.Dense(10000, activation="softmax", name="next_word")(x)
    return keras.Model(words, next_word, name="lstm_cifg")


def lstm_fgr() -> keras.Model:
    piano_roll = keras.Input(shape=(None, 88), name="piano_roll")
    x = layers.LSTM(64, return_sequences=True, name="lstm1")(piano_roll)  # stand-in: FGR
    x = layers.LSTM(64, return_sequences=True, name="lstm2")(x)  # stand-in: FGR
    next_notes = layers.Dense(88, activation="sigmoid", name="next_notes")(x)
    return keras.Model(piano_roll, next_notes, name="lstm_fgr")


def lstm_layer_norm() -> keras.Model:
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(20000, 300, name="embed")(tokens)
    x = layers.LSTM(256, return_sequences=True, name="lstm1")(x)  # stand-in: layer-norm LSTM
    x = layers.LSTM(256, name="lstm2")(x)  # stand-in: layer-norm LSTM
    sentiment = layers.Dense(2, activation="softmax", name="sentiment")(x)
    return keras.Model(tokens, sentiment, name="lstm_layer_norm")


def lstm_nfg() -> keras.Model:
    pen = keras.Input(shape=(None, 4), name="pen")
    # stand-ins: bidirectional NFG LSTMs
    x = layers.Bidirectional(layers.LSTM(100, return_sequences=True), name="blstm1")(pen)
    x = layers.Bidirectional(layers.LSTM(100, return_sequences=True), name="blstm2")(x)
    char_scores = layers.Dense(58, activation="log_softmax", name="char_scores")(x)
    return keras.Model(pen, char_scores, name="lstm_nfg")


def lstm_niaf() -> keras.Model:
    piano_roll = keras.Input(shape=(None, 88), name="piano_roll")
    x = layers.LSTM(128, return_sequences=True, name="lstm1")(piano_roll)  # stand-in: NIAF
    x = layers.LSTM(128, return_sequences=True, name="lstm2")(x)  # stand-in: NIAF
    next_notes = layers.Dense(88, activation="sigmoid", name="next_notes")(x)
    return keras.Model(piano_roll, next_notes, name="lstm_niaf")


def lstm_nig() -> keras.Model:
    piano_roll = keras.Input(shape=(None, 88), name="piano_roll")
    x = layers.LSTM(128, return_sequences=True, name="lstm1")(piano_roll)  # stand-in: NIG
    x = layers.LSTM(128, return_sequences=True, name="lstm2")(x)  # stand-in: NIG
    next_notes = layers.Dense(88, activation="sigmoid", name="next_notes")(x)
    return keras.Model(piano_roll, next_notes, name="lstm_nig")


def lstm_noaf() -> keras.Model:
    pen = keras.Input(shape=(None, 4), name="pen")
    # stand-ins: bidirectional NOAF LSTMs
    x = layers.Bidirectional(layers.LSTM(100, return_sequences=True), name="blstm1")(pen)
    x = layers.Bidirectional(layers.LSTM(100, return_sequences=True), name="blstm2")(x)
    char_scores = layers.Dense(58, activation="log_softmax", name="char_scores")(x)
    return keras.Model(pen, char_scores, name="lstm_noaf")


def lstm_nog() -> keras.Model:
    frames = keras.Input(shape=(None, 39), name="frames")
    x = layers.LSTM(128, return_sequences=True, name="lstm1")(frames)  # stand-in: NOG
    x = layers.LSTM(128, name="lstm2")(x)  # stand-in: NOG
    accent = layers.Dense(10, activation="softmax", name="accent")(x)
    return keras.Model(frames, accent, name="lstm_nog")


def lstm_peephole() -> keras.Model:
    frames = keras.Input(shape=(None, 39), name="frames")
    # stand-ins: bidirectional peephole LSTMs
    x = layers.Bidirectional(layers.LSTM(128, return_sequences=True), name="blstm1")(frames)
    x = layers.Bidirectional(layers.LSTM(128, return_sequences=True), name="blstm2")(x)
    phones = layers.Dense(61, activation="softmax", name="phones")(x)
    return keras.Model(frames, phones, name="lstm_peephole")


MODELS: dict[str, Callable[[], keras.Model]] = {
    "attention_encoder": attention_encoder,
    "bidirectional_rnn": bidirectional_rnn,
    "conv_lstm_classifier": conv_lstm_classifier,
    "crnn_keyword_spotting": crnn_keyword_spotting,
    "ensemble_average": ensemble_average,
    "fused_two_branch_lstm": fused_two_branch_lstm,
    "gated_feedback_lstm": gated_feedback_lstm,
    "gru_stack": gru_stack,
    "hierarchical_rnn_mnist": hierarchical_rnn_mnist,
    "image_caption": image_caption,
    "imdb_lstm_recurrent_dropout": imdb_lstm_recurrent_dropout,
    "imdb_masked": imdb_masked,
    "joint_intent_slot": joint_intent_slot,
    "lstm_autoencoder_unet": lstm_autoencoder_unet,
    "luong_attention": luong_attention,
    "pair_classifier": pair_classifier,
    "recurrent_twin_critic": recurrent_twin_critic,
    "resnet_lstm": resnet_lstm,
    "siamese_lstm": siamese_lstm,
    "seq2seq": seq2seq,
    "seq2seq_states": seq2seq_states,
    "bidirectional_encoder_decoder": bidirectional_encoder_decoder,
    "show_and_tell": show_and_tell,
    "skip_deep_lstm": skip_deep_lstm,
    "skip_deep_lstm_attention": skip_deep_lstm_attention,
    "stacked_lstm_2": stacked_lstm_2,
    "stacked_lstm_4": stacked_lstm_4,
    "stateful_stacked_lstm": stateful_stacked_lstm,
    "variants/lstm_cifg": lstm_cifg,
    "variants/lstm_fgr": lstm_fgr,
    "variants/lstm_layer_norm": lstm_layer_norm,
    "variants/lstm_nfg": lstm_nfg,
    "variants/lstm_niaf": lstm_niaf,
    "variants/lstm_nig": lstm_nig,
    "variants/lstm_noaf": lstm_noaf,
    "variants/lstm_nog": lstm_nog,
    "variants/lstm_peephole": lstm_peephole,
}


def main() -> None:
    for name, build in MODELS.items():
        model = build()
        shapes = ", ".join(str(tuple(out.shape)) for out in model.outputs)
        print(f"{name:34} {shapes}")


if __name__ == "__main__":
    main()
