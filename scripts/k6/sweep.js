// One level of the benchmark sweep against one server: a closed loop of KNLLAMA_BENCH_CONCURRENCY clients, each
// sending its next streamed request when its last one ends, or an open loop where requests arrive at
// KNLLAMA_BENCH_RATE per second whether or not earlier ones have finished. scripts/bench.sh runs it level by level
// and server by server and scripts/lib/bench_report.py tabulates and plots the summaries it writes.
//   KNLLAMA_BENCH_URL, KNLLAMA_BENCH_MODEL, KNLLAMA_BENCH_TARGET (a name for the tables)
//   KNLLAMA_BENCH_API chat|completions (chat), KNLLAMA_BENCH_MAX_TOKENS (128), KNLLAMA_BENCH_EXTRA (JSON fields merged
//     into every request, e.g. {"cache_prompt":false} for llama-server), KNLLAMA_BENCH_WARMUP (2, unmeasured, first)
//   closed loop: KNLLAMA_BENCH_CONCURRENCY, KNLLAMA_BENCH_REQUESTS (20)
//   open loop:   KNLLAMA_BENCH_RATE (requests/s), KNLLAMA_BENCH_RATE_DURATION (30 s) or KNLLAMA_BENCH_RATE_REQUESTS,
//                KNLLAMA_BENCH_ARRIVAL poisson|constant (poisson), KNLLAMA_BENCH_SEED (1),
//                KNLLAMA_BENCH_MAX_IN_FLIGHT (64: an arrival finding that many requests open is not sent, and counted)
//   KNLLAMA_BENCH_SUMMARY: where handleSummary writes the summary JSON
import { sleep, randomSeed } from 'k6';
import exec from 'k6/execution';
import { Counter, Gauge, Trend } from 'k6/metrics';
import { send, body, abbreviate } from './stream.js';

const URL = __ENV.KNLLAMA_BENCH_URL;
const MODEL = __ENV.KNLLAMA_BENCH_MODEL;
const API = __ENV.KNLLAMA_BENCH_API || 'chat';
const MAX_TOKENS = parseInt(__ENV.KNLLAMA_BENCH_MAX_TOKENS || '128', 10);
const EXTRA = JSON.parse(__ENV.KNLLAMA_BENCH_EXTRA || '{}');
const WARMUP = parseInt(__ENV.KNLLAMA_BENCH_WARMUP || '2', 10);
const CONCURRENCY = parseInt(__ENV.KNLLAMA_BENCH_CONCURRENCY || '0', 10);
const RATE = parseFloat(__ENV.KNLLAMA_BENCH_RATE || '0');
const MAX_IN_FLIGHT = parseInt(__ENV.KNLLAMA_BENCH_MAX_IN_FLIGHT || '64', 10);
if (!URL || !MODEL || (CONCURRENCY > 0) === (RATE > 0)) {
  throw new Error('set KNLLAMA_BENCH_URL, KNLLAMA_BENCH_MODEL and one of KNLLAMA_BENCH_CONCURRENCY, KNLLAMA_BENCH_RATE');
}

// Request i uses prompt i mod 8, so every server sees the same sequence.
const PROMPTS = [
  'Write a short story about a llama who learns to fly.',
  'Explain how a steam engine works.',
  'Describe the city of Paris to someone who has never been there.',
  'What are the main causes of the French Revolution?',
  'Write a letter to a friend about your summer holiday.',
  'Explain why the sky is blue.',
  'Describe a day in the life of a lighthouse keeper.',
  'What should a beginner know about growing tomatoes?',
];
const prompt = (i) => (API === 'chat' ? PROMPTS[i % PROMPTS.length] : `User: ${PROMPTS[i % PROMPTS.length]}\nAssistant:`);

// The open loop's schedule: arrival offsets in seconds, the same in every VU (seeded) and for every server.
let schedule = [];
if (RATE > 0) {
  const n = __ENV.KNLLAMA_BENCH_RATE_REQUESTS
    ? parseInt(__ENV.KNLLAMA_BENCH_RATE_REQUESTS, 10)
    : Math.max(1, Math.round(RATE * parseFloat(__ENV.KNLLAMA_BENCH_RATE_DURATION || '30')));
  randomSeed(parseInt(__ENV.KNLLAMA_BENCH_SEED || '1', 10));
  let t = 0;
  for (let i = 0; i < n; i++) {
    schedule.push(t);
    t += (__ENV.KNLLAMA_BENCH_ARRIVAL || 'poisson') === 'poisson' ? -Math.log(1 - Math.random()) / RATE : 1 / RATE;
  }
}

export const options = {
  scenarios: {
    measured: RATE > 0
      // Every VU waits for its iteration's arrival time, so with MAX_IN_FLIGHT VUs requests start on schedule
      // unless that many are already open.
      ? { executor: 'shared-iterations', vus: Math.min(MAX_IN_FLIGHT, schedule.length), iterations: schedule.length, maxDuration: '6h' }
      : { executor: 'shared-iterations', vus: CONCURRENCY, iterations: parseInt(__ENV.KNLLAMA_BENCH_REQUESTS || '20', 10), maxDuration: '6h' },
  },
  summaryTrendStats: ['count', 'avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
  // The summary carries the numbers; the table is bench_report.py's.
  summaryTimeUnit: 'ms',
};

const ttft = new Trend('ttft_ms', true);
const itl = new Trend('itl_ms', true);
const e2e = new Trend('e2e_ms', true);
const streamRate = new Trend('stream_tokens_per_s');
const shedTime = new Trend('shed_ms', true);
const tokensPerRequest = new Trend('tokens_per_request');
const ok = new Counter('ok');
const shed = new Counter('shed');
const errors = new Counter('errors');
const notSent = new Counter('not_sent');
const outputTokens = new Counter('output_tokens');
const usageCounted = new Counter('tokens_from_usage');
// Wall time of the measured requests, first start to last end (k6's own test duration includes the warm-up).
const firstStart = new Gauge('started_at');
const lastEnd = new Gauge('ended_at');

let warned = 0; // per client: the first few failures are enough to diagnose them

export function setup() {
  for (let i = 0; i < WARMUP; i++) {
    const r = send(URL, API, body(API, MODEL, prompt(i), MAX_TOKENS, EXTRA));
    if (r.outcome !== 'ok') {
      exec.test.abort(`${__ENV.KNLLAMA_BENCH_TARGET}: the warm-up request did not succeed: ${r.error || r.outcome}`);
    }
  }
  return { start: Date.now() };
}

export default function (data) {
  const i = exec.scenario.iterationInTest;
  if (RATE > 0) {
    const wait = data.start / 1000 + schedule[i] - Date.now() / 1000;
    if (wait > 0) {
      sleep(wait);
    } else if (wait < -1) {
      notSent.add(1); // every VU was busy for over a second past this arrival: the client's own cap
      return;
    }
  }
  firstStart.add(Date.now());
  const r = send(URL, API, body(API, MODEL, prompt(i), MAX_TOKENS, EXTRA));
  lastEnd.add(Date.now());
  if (r.outcome === 'shed') {
    shed.add(1);
    shedTime.add(r.e2e_ms);
  } else if (r.outcome !== 'ok') {
    errors.add(1);
    if (warned++ < 3) {
      console.warn(`${__ENV.KNLLAMA_BENCH_TARGET}: request ${i} failed: ${abbreviate(r.error)}`);
    }
  } else {
    ok.add(1);
    ttft.add(r.ttft_ms);
    e2e.add(r.e2e_ms);
    r.itl_ms.forEach((gap) => itl.add(gap));
    outputTokens.add(r.tokens);
    tokensPerRequest.add(r.tokens);
    usageCounted.add(r.tokens_from === 'usage' ? 1 : 0);
    if (r.tokens > 1 && r.decode_ms > 0) {
      streamRate.add((r.tokens - 1) / (r.decode_ms / 1000));
    }
  }
}

export function handleSummary(data) {
  const out = {
    target: __ENV.KNLLAMA_BENCH_TARGET || URL, url: URL, model: MODEL, api: API, max_tokens: MAX_TOKENS, extra: EXTRA,
    concurrency: CONCURRENCY || null, rate: RATE || null, arrival: RATE > 0 ? (__ENV.KNLLAMA_BENCH_ARRIVAL || 'poisson') : null,
    sent: RATE > 0 ? schedule.length : null, metrics: {},
  };
  for (const [name, metric] of Object.entries(data.metrics)) {
    out.metrics[name] = metric.values;
  }
  const file = __ENV.KNLLAMA_BENCH_SUMMARY;
  return file ? { [file]: JSON.stringify(out, null, 1) } : { stdout: JSON.stringify(out) };
}
