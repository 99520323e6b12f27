#!/usr/bin/env python3
"""Bounded load against a knllama function on this machine (loopback only), standard library only.

  loadgen.py mixed URL [URL...] --seconds N --clients N
      A mix of what a real service sees, for the dashboard's screenshot: streamed and whole chat answers,
      answers cut by max_tokens, clients that leave mid-stream, invalid requests, and more clients than
      slots so that some requests queue and some are shed (503). Spread over the URLs (revisions).

  loadgen.py throughput URL --streams N --requests N --max-tokens N
      N concurrent streams, each continuing a story to max_tokens in turn; prints generated tokens per
      second per stream (from the first to the last token) and in all (tokens over wall time).

Every loop is bounded by count or time and stops by itself.
"""
import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

MODEL = "gemma-3-270m-q4_k_m"
QUESTIONS = [
    "What is the capital of France?",
    "Name three colours of the rainbow.",
    "What is 12 times 12?",
    "Write a short poem about the sea.",
    "Why is the sky blue?",
    "Tell me a story about a llama who learns to fly.",
]


def connect(url, timeout=120):
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing to send load to {parts.hostname}: loopback only")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def chat(url, body, stream_limit=None):
    """Sends one chat request; reads a stream to the end, or only stream_limit chunks (then leaves)."""
    conn = connect(url)
    try:
        conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200 or not body.get("stream"):
            response.read()
            return response.status
        chunks = 0
        for line in response:
            if line.startswith(b"data:"):
                chunks += 1
                if stream_limit is not None and chunks >= stream_limit:
                    break  # closing the connection cancels the generation
        return response.status
    finally:
        conn.close()


def mixed(urls, seconds, clients):
    deadline = time.monotonic() + seconds
    counts = {}
    lock = threading.Lock()

    def client(n):
        rng = random.Random(n)
        while time.monotonic() < deadline:
            url = urls[rng.randrange(len(urls))]
            kind = rng.choices(["stream", "whole", "short", "leave", "invalid"], [5, 3, 2, 1, 1])[0]
            body = {"model": MODEL, "messages": [{"role": "user", "content": rng.choice(QUESTIONS)}],
                    "max_tokens": rng.choice([24, 48, 96]), "temperature": 0.7}
            if kind in ("stream", "leave"):
                body["stream"] = True
            if kind == "short":
                body["max_tokens"] = 4
            if kind == "invalid":
                body["temperature"] = 5
            try:
                status = chat(url, body, stream_limit=3 if kind == "leave" else None)
            except OSError as e:
                status = type(e).__name__
            with lock:
                counts[(kind, status)] = counts.get((kind, status), 0) + 1
            time.sleep(rng.uniform(0.05, 0.6))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (kind, status), n in sorted(counts.items(), key=str):
        print(f"{kind:8} {status}: {n}")


def throughput(url, streams, requests, max_tokens):
    results = []
    lock = threading.Lock()

    def stream(n):
        for i in range(requests):
            conn = connect(url)
            # A plain text completion: a base model continues a story to max_tokens, where a chat answer may stop
            # after a sentence, so every request measures the same number of tokens.
            body = {"model": MODEL, "stream": True, "stream_options": {"include_usage": True}, "max_tokens": max_tokens,
                    "temperature": 0.8, "seed": 1000 * n + i, "prompt": "Once upon a time, a llama who wanted to fly"}
            conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
            response = conn.getresponse()
            start = time.monotonic()
            first = last = None
            tokens = 0
            for line in response:
                if not line.startswith(b"data:") or line.strip() == b"data: [DONE]":
                    continue
                chunk = json.loads(line[5:])
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
                if chunk.get("choices") and chunk["choices"][0].get("text"):
                    last = time.monotonic()
                    first = first or last
            conn.close()
            with lock:
                results.append((n, tokens, first - start, last - first))

    began = time.monotonic()
    threads = [threading.Thread(target=stream, args=(n,)) for n in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    total = sum(r[1] for r in results)
    per_stream = [(r[1] - 1) / r[3] for r in results if r[3] > 0]
    print(json.dumps({
        "streams": streams, "requests": len(results), "completion_tokens": total, "wall_seconds": round(wall, 2),
        "aggregate_tokens_per_second": round(total / wall, 2),
        "per_stream_tokens_per_second_mean": round(sum(per_stream) / len(per_stream), 2),
        "time_to_first_token_seconds_mean": round(sum(r[2] for r in results) / len(results), 3),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    m = sub.add_parser("mixed")
    m.add_argument("urls", nargs="+")
    m.add_argument("--seconds", type=int, default=120)
    m.add_argument("--clients", type=int, default=6)
    t = sub.add_parser("throughput")
    t.add_argument("url")
    t.add_argument("--streams", type=int, default=1)
    t.add_argument("--requests", type=int, default=3)
    t.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()
    if args.mode == "mixed":
        mixed(args.urls, min(args.seconds, 900), min(args.clients, 32))
    else:
        throughput(args.url, min(args.streams, 16), min(args.requests, 50), args.max_tokens)


if __name__ == "__main__":
    main()
