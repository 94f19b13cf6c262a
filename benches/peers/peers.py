#!/usr/bin/env python3
"""Side-by-side benchmark: patrol (Candle) vs PyTorch and ONNX Runtime on the same weights.

For each model directory given, in one run and at one thread count:
  1. patrol's example `peer_patrol` tokenises the posts with the model's own tokeniser, writes the
     token ids, and times patrol (model only, in the peers' batches; and its default engine path
     end to end from text);
  2. the directory's safetensors are loaded into transformers' BertForSequenceClassification
     (the same Hugging Face tensor names) and scored in PyTorch fp32 and int8 (dynamic);
  3. the model is exported to ONNX and scored in ONNX Runtime fp32 and int8 (dynamic);
  4. every engine's scores are compared with patrol's f32 reference (fp32 engines must agree
     within 1e-3; patrol's default fast path within 0.02, its accuracy guard).

The peers get the token ids, so their figures exclude tokenisation; patrol's `engine` row includes
it. Batches are length-sorted, `--batch` posts each, scored one at a time, for every engine.

Usage (see README.md beside this file for the venv):
  python benches/peers/peers.py --posts FILE.jsonl --threads 2 models/patrol-ja-small [models/teacher]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def patrol_run(model, posts, ids_path, batch, threads, candle_threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), CANDLE_NUM_THREADS=str(candle_threads))
    cmd = ["cargo", "run", "--quiet", "--release", "--example", "peer_patrol"]
    features = os.environ.get("PATROL_FEATURES")
    if features:
        # A separate target folder, so the default build is not rebuilt back and forth.
        cmd += ["--features", features, "--target-dir", f"target/{features}-build"]
        if "mkl" in features:
            root = os.path.abspath(env.get("MKLROOT", "target/mkl"))
            env["MKLROOT"] = root
            env["LD_LIBRARY_PATH"] = os.path.join(root, "lib") + ":" + env.get("LD_LIBRARY_PATH", "")
    cmd += ["--", model, posts, ids_path, str(batch)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def patrol_runs(model, posts, ids_path, batch, threads):
    """patrol's figures, each protocol at its own best thread setting: the one-batch-at-a-time
    `batches` rows with candle's matmuls and element-wise kernels on all `threads` (as the peers
    run), the `engine` rows with one candle thread per rayon worker (the CLI's default)."""
    p = patrol_run(model, posts, ids_path, batch, threads, threads)
    e = patrol_run(model, posts, ids_path, batch, threads, 1)
    p["engine_s"], p["engine_f32_s"] = e["engine_s"], e["engine_f32_s"]
    return p


def load_torch(model_dir, labels):
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig.from_pretrained(model_dir)
    config.num_labels = len(labels)
    model = BertForSequenceClassification(config)
    state = {k: v.float() for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items()}
    # A bare encoder (e.g. imported e5) has no `bert.` prefix.
    if not any(k.startswith("bert.") for k in state):
        state = {(k if k.startswith("classifier.") else "bert." + k): v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        sys.exit(f"{model_dir}: tensors missing {missing}, unexpected {unexpected}")
    model.eval()
    return model


def batches(ids, batch, pad):
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch):
        group = order[start:start + batch]
        width = max(len(ids[i]) for i in group)
        x = np.full((len(group), width), pad, dtype=np.int64)
        m = np.zeros((len(group), width), dtype=np.int64)
        for r, i in enumerate(group):
            x[r, :len(ids[i])] = ids[i]
            m[r, :len(ids[i])] = 1
        yield group, x, m


def timed(score_batch, ids, batch, pad):
    scores = [None] * len(ids)
    lat = []
    start = time.perf_counter()
    for group, x, m in batches(ids, batch, pad):
        t = time.perf_counter()
        s = score_batch(x, m)
        lat.append((time.perf_counter() - t) * 1e3)
        for r, i in enumerate(group):
            scores[i] = s[r]
    return time.perf_counter() - start, lat, np.array(scores, dtype=np.float32)


def torch_scorer(model):
    import torch

    def score(x, m):
        with torch.inference_mode():
            logits = model(input_ids=torch.from_numpy(x), attention_mask=torch.from_numpy(m),
                           token_type_ids=torch.zeros_like(torch.from_numpy(x))).logits
        return torch.sigmoid(logits).numpy()
    return score


def onnx_export(model, path):
    import torch
    x = torch.ones((2, 8), dtype=torch.int64)
    kwargs = dict(input_names=["input_ids", "attention_mask", "token_type_ids"],
                  output_names=["logits"],
                  dynamic_axes={n: {0: "batch", 1: "len"} for n in
                                ["input_ids", "attention_mask", "token_type_ids"]},
                  opset_version=17)
    try:
        torch.onnx.export(model, (x, x, torch.zeros_like(x)), path, dynamo=False, **kwargs)
    except TypeError:  # older torch without the `dynamo` switch
        torch.onnx.export(model, (x, x, torch.zeros_like(x)), path, **kwargs)


def ort_scorer(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def score(x, m):
        logits = sess.run(["logits"], {"input_ids": x, "attention_mask": m,
                                       "token_type_ids": np.zeros_like(x)})[0]
        return 1.0 / (1.0 + np.exp(-logits))
    return score


def row(name, seconds, lat, n, patrol_rate, diff=None):
    rate = n / seconds
    p50, p99 = (np.percentile(lat, 50), np.percentile(lat, 99)) if lat else (float("nan"),) * 2
    d = "" if diff is None else f"{diff:.2e}"
    print(f"| {name} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {rate / patrol_rate:.2f} | {d} |")
    return rate


def bench(model_dir, args, tmp):
    import torch
    torch.set_num_threads(args.threads)
    ids_path = os.path.join(tmp, "ids.jsonl")
    p = patrol_runs(model_dir, args.posts, ids_path, args.batch, args.threads)
    n = p["posts"]
    with open(ids_path) as f:
        ids = [json.loads(line) for line in f]
    with open(os.path.join(model_dir, "config.json")) as f:
        pad = json.load(f).get("pad_token_id", 0) or 0
    ref = np.array(p["scores"], dtype=np.float32)
    print(f"\n### {model_dir} (patrol features: {os.environ.get('PATROL_FEATURES') or 'default'}): {n} posts, {p['tokens'] / n:.1f} tokens/post, "
          f"batch {args.batch}, {args.threads} threads\n")
    print("| engine | posts/s | p50 batch ms | p99 batch ms | ratio vs patrol batches | max |score diff| |")
    print("| --- | --- | --- | --- | --- | --- |")
    patrol_rate = n / p["batches_s"]
    fast_diff = float(np.abs(np.array(p["scores_fast"], dtype=np.float32) - ref).max())
    row("patrol, batches (model only)", p["batches_s"], p["batch_ms"], n, patrol_rate, fast_diff)
    row("patrol, engine (text to scores)", p["engine_s"], [], n, patrol_rate)
    row("patrol --precision f32, batches (reference)", p["batches_f32_s"], p["batch_ms_f32"], n,
        patrol_rate, 0.0)
    row("patrol --precision f32, engine", p["engine_f32_s"], [], n, patrol_rate)
    failures = []
    if fast_diff > 0.02:
        failures.append(f"patrol fast differs from its f32 reference by {fast_diff:.2e}")

    model = load_torch(model_dir, p["labels"])
    results = {}
    s, lat, sc = timed(torch_scorer(model), ids, args.batch, pad)
    diff = float(np.abs(sc - ref).max())
    results["torch fp32"] = row("torch fp32", s, lat, n, patrol_rate, diff)
    if diff > 1e-3:
        failures.append(f"torch fp32 differs by {diff:.2e}")
    q = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    s, lat, sc = timed(torch_scorer(q), ids, args.batch, pad)
    results["torch int8"] = row("torch int8 dynamic", s, lat, n, patrol_rate,
                                float(np.abs(sc - ref).max()))

    onnx_path = os.path.join(tmp, "model.onnx")
    onnx_export(model, onnx_path)
    s, lat, sc = timed(ort_scorer(onnx_path, args.threads), ids, args.batch, pad)
    diff = float(np.abs(sc - ref).max())
    results["ort fp32"] = row("onnxruntime fp32", s, lat, n, patrol_rate, diff)
    if diff > 1e-3:
        failures.append(f"onnxruntime fp32 differs by {diff:.2e}")
    from onnxruntime.quantization import QuantType, quantize_dynamic
    q_path = os.path.join(tmp, "model.int8.onnx")
    quantize_dynamic(onnx_path, q_path, weight_type=QuantType.QInt8)
    s, lat, sc = timed(ort_scorer(q_path, args.threads), ids, args.batch, pad)
    results["ort int8"] = row("onnxruntime int8 dynamic", s, lat, n, patrol_rate,
                              float(np.abs(sc - ref).max()))
    print(f"\npatrol engine end to end: {n / p['engine_s']:,.0f} posts/s "
          f"(tokenisation alone {n / p['encode_s']:,.0f} posts/s); "
          f"patrol batches / torch fp32 = {patrol_rate / results['torch fp32']:.2f}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="patrol model directories")
    ap.add_argument("--posts", default="datasets/test.jsonl")
    ap.add_argument("--limit", type=int, default=2000, help="first N posts of --posts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        posts = os.path.join(tmp, "posts.jsonl")
        with open(args.posts) as src, open(posts, "w") as dst:
            lines = [line for line in src if line.strip()][:args.limit]
            dst.writelines(lines)
        args.posts = posts
        for m in args.models:
            if not os.path.isfile(os.path.join(m, "model.safetensors")):
                print(f"\n{m}: not present, skipped")
                continue
            failures += [f"{m}: {f}" for f in bench(m, args, tmp)]
    if failures:
        print("\nSCORES DISAGREE:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("\nfp32 scores agree within 1e-3 across engines.")


if __name__ == "__main__":
    main()
