// The time Knative's queue-proxy adds to the first streamed chunk: one client sends the same streamed completion
// alternately to the function and to queue-proxy in front of it (A B B A ..., so a drift in the machine's load
// weighs on both alike), and the summary prints time to first chunk on each path and the difference.
// scripts/bench-queue-proxy.sh starts both processes and runs this.
//   KNLLAMA_BENCH_DIRECT_URL, KNLLAMA_BENCH_QUEUE_PROXY_URL, KNLLAMA_BENCH_MODEL
//   KNLLAMA_BENCH_REQUESTS (30 per path), KNLLAMA_BENCH_MAX_TOKENS (16), KNLLAMA_BENCH_WARMUP (2 per path, unmeasured)
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { send, body, abbreviate } from './stream.js';

const URLS = { direct: __ENV.KNLLAMA_BENCH_DIRECT_URL, queue_proxy: __ENV.KNLLAMA_BENCH_QUEUE_PROXY_URL };
const MODEL = __ENV.KNLLAMA_BENCH_MODEL;
const REQUESTS = parseInt(__ENV.KNLLAMA_BENCH_REQUESTS || '30', 10);
const MAX_TOKENS = parseInt(__ENV.KNLLAMA_BENCH_MAX_TOKENS || '16', 10);
const WARMUP = parseInt(__ENV.KNLLAMA_BENCH_WARMUP || '2', 10);
if (!URLS.direct || !URLS.queue_proxy || !MODEL) {
  throw new Error('set KNLLAMA_BENCH_DIRECT_URL, KNLLAMA_BENCH_QUEUE_PROXY_URL and KNLLAMA_BENCH_MODEL');
}
const PROMPT = 'User: What should a beginner know about growing tomatoes?\nAssistant:';

const ttft = { direct: new Trend('ttft_direct', true), queue_proxy: new Trend('ttft_queue_proxy', true) };
const e2e = { direct: new Trend('e2e_direct', true), queue_proxy: new Trend('e2e_queue_proxy', true) };
const failed = new Counter('failed');

export const options = {
  scenarios: {
    alternate: { executor: 'per-vu-iterations', vus: 1, iterations: 2 * (WARMUP + REQUESTS), maxDuration: '60m' },
  },
  summaryTrendStats: ['min', 'med', 'p(90)', 'max'],
};

export default function () {
  const i = exec.scenario.iterationInTest;
  const path = i % 4 === 0 || i % 4 === 3 ? 'direct' : 'queue_proxy';
  const r = send(URLS[path], 'completions', body('completions', MODEL, PROMPT, MAX_TOKENS, {}), { timeout: 120 });
  if (r.outcome !== 'ok') {
    failed.add(1, { path: path });
    console.warn(`${path}: ${r.outcome}: ${r.error || abbreviate(r.body)}`);
    return;
  }
  if (Math.floor(i / 2) >= WARMUP) {
    ttft[path].add(r.ttft_ms);
    e2e[path].add(r.e2e_ms);
  }
}

export function handleSummary(data) {
  const values = (name) => (data.metrics[name] ? data.metrics[name].values : null);
  const ms = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)} ms`);
  const lines = [`queue-proxy benchmark: ${REQUESTS} streamed completions per path (${MAX_TOKENS} tokens max), one client, alternating`];
  for (const [label, name] of [['time to first chunk', 'ttft'], ['whole stream', 'e2e']]) {
    const direct = values(`${name}_direct`);
    const proxied = values(`${name}_queue_proxy`);
    if (!direct || !proxied) {
      lines.push(`${label}: no completed requests on one of the paths`);
      continue;
    }
    lines.push(`${label}:`);
    lines.push(`  direct       median ${ms(direct.med)}  p90 ${ms(direct['p(90)'])}  min ${ms(direct.min)}  max ${ms(direct.max)}`);
    lines.push(`  queue-proxy  median ${ms(proxied.med)}  p90 ${ms(proxied['p(90)'])}  min ${ms(proxied.min)}  max ${ms(proxied.max)}`);
    lines.push(`  added by queue-proxy: median ${ms(proxied.med - direct.med)}, p90 ${ms(proxied['p(90)'] - direct['p(90)'])}`);
  }
  const failures = values('failed');
  lines.push(`failed requests: ${failures ? failures.count : 0}`);
  return { stdout: `${lines.join('\n')}\n` };
}
