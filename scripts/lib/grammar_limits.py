"""Structured output at the converter's limits: time to first token, per token and the slowest token for schemas
just inside each budget (and one just beyond), against a running function. Used by scripts/bench-grammar.sh."""
import json, time, statistics, sys, urllib.request

BASE, MODEL = sys.argv[1], sys.argv[2]

def stream(body):
    req = urllib.request.Request(BASE + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    start = time.perf_counter(); times = []; status = None; err = None
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            status = r.status
            for line in r:
                line = line.decode().strip()
                if line.startswith("data: {"):
                    d = json.loads(line[6:])
                    if d.get("choices") and d["choices"][0]["delta"].get("content"):
                        times.append(time.perf_counter())
    except urllib.error.HTTPError as e:
        status = e.code; err = e.read().decode()[:200]
    ttft = times[0] - start if times else None
    gaps = [b - a for a, b in zip(times, times[1:])]
    return status, ttft, (statistics.median(gaps) if gaps else None), (max(gaps) if gaps else None), len(times), err

def schema_fmt(schema):
    return {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}

enum_max = {"type": "object", "properties": {"v": {"enum": ["%04d" % i + "x" * 53 for i in range(1000)]}}, "required": ["v"]}
reps_max = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 9990}, "b": {"type": "string", "maxLength": 9990}}, "required": ["a", "b"]}
union_max = {"type": "object", "properties": {"v": {"anyOf": [{"type": "object", "properties": {"k%d" % i: {"type": "integer"}}, "required": ["k%d" % i]} for i in range(256)]}}, "required": ["v"]}
over = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 20001}}}
cases = [("no grammar", None), ("1,000-value enum, 57,000 characters", enum_max),
         ("2 strings maxLength 9,990 each (19,980 repetitions)", reps_max), ("256-way anyOf", union_max),
         ("over the repetition budget (20,001)", over)]
msgs = [{"role": "user", "content": "Write a JSON object."}]
print("| case | status | time to first token | median per token | slowest token | tokens |")
print("|---|---|---|---|---|---|")
for name, schema in cases:
    for rep in range(2):  # the first run warms up; the second is printed
        body = {"model": MODEL, "messages": msgs, "max_tokens": 48, "stream": True, "temperature": 0}
        if schema: body["response_format"] = schema_fmt(schema)
        st, ttft, med, mx, n, err = stream(body)
    f = lambda x: "-" if x is None else "%.0f ms" % (x * 1000)
    print(f"| {name} | {st}{' ' + err if err else ''} | {f(ttft)} | {f(med)} | {f(mx)} | {n} |")
