// Shared by the k6 profiles: the request mix, the checks, and the thresholds issue #6 asks for.
// Run through scripts/k6/run.sh, which sets BASE_URL and MODEL; durations come from each profile's env vars.
import http from 'k6/http';
import { check, fail, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '').replace(/\/v1$/, '');
export const MODEL = __ENV.MODEL || '';
const MAX_TOKENS = parseInt(__ENV.KNLLAMA_K6_MAX_TOKENS || '32', 10);
// Share of requests sent with stream: true (the rest are plain JSON responses).
const STREAM_RATIO = parseFloat(__ENV.KNLLAMA_K6_STREAM_RATIO || '0.5');
// A shed client waits Retry-After before its next request, but at most this long (seconds): a real client
// backs off, and a VU that retried at once would turn the test into a 503 loop on a 2-core machine.
const SHED_BACKOFF_MAX = parseFloat(__ENV.KNLLAMA_K6_SHED_BACKOFF_MAX || '1');

const PROMPTS = [
  'Write a short story about a llama who learns to fly.',
  'Explain how a steam engine works.',
  'Describe the city of Paris to someone who has never been there.',
  'What are the main causes of the French Revolution?',
  'Explain why the sky is blue.',
  'What is the capital of France?',
];

// 503 with Retry-After is the function's overload answer, not a failure: it is counted as shed instead.
http.setResponseCallback(http.expectedStatuses(200, 503));

export const failures = new Counter('failures');          // anything other than 200-complete or 503 + Retry-After
export const shed = new Counter('shed');                  // 503 + Retry-After answers
export const shedDuration = new Trend('shed_duration', true);
export const streamChunks = new Trend('stream_chunks');   // content chunks per streamed answer
export const completed = new Counter('completed');
export const e2e = new Trend('e2e', true);                // whole request, for the soak's start/end comparison

// Issue #6: zero failures other than shed 503s, and every shed answer in under 50 ms.
export const BASE_THRESHOLDS = {
  failures: ['count==0'],
  shed_duration: ['max<50'],
  'http_req_duration{status:503}': ['max<50'],
  checks: ['rate==1'],
};

// A few examples of each failure in the output are enough to diagnose it; thousands would bury the summary.
let warnings = 0;
function warn(message) {
  if (warnings++ < 5) {
    console.warn(message);
  }
}

/** One request of the mix; `tags` mark it (e.g. the soak's phase). Returns the outcome. */
export function request(tags = {}) {
  const stream = Math.random() < STREAM_RATIO;
  const prompt = PROMPTS[Math.floor(Math.random() * PROMPTS.length)];
  const body = {
    model: MODEL,
    messages: [{ role: 'user', content: prompt }],
    max_tokens: MAX_TOKENS,
    temperature: 0,
  };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  const allTags = Object.assign({ stream: String(stream) }, tags);
  const res = http.post(`${BASE_URL}/v1/chat/completions`, JSON.stringify(body), {
    headers: { 'Content-Type': 'application/json' },
    timeout: __ENV.KNLLAMA_K6_REQUEST_TIMEOUT || '120s',
    tags: allTags,
  });

  if (res.status === 503) {
    const retryAfter = res.headers['Retry-After'];
    const ok = check(res, {
      'shed 503 has Retry-After': () => retryAfter !== undefined,
      'shed 503 says overloaded': () => (res.body || '').includes('"overloaded"') || (res.body || '').includes('"shutting_down"'),
    }, allTags);
    if (!ok || retryAfter === undefined) {
      failures.add(1, allTags);
      warn(`a 503 that is not a shed: Retry-After ${retryAfter}, body ${(res.body || '').slice(0, 200)}`);
      return 'failed';
    }
    shed.add(1, allTags);
    shedDuration.add(res.timings.duration, allTags);
    sleep(Math.min(parseFloat(retryAfter) || SHED_BACKOFF_MAX, SHED_BACKOFF_MAX));
    return 'shed';
  }
  if (res.status !== 200) {
    failures.add(1, Object.assign({ status: String(res.status) }, allTags));
    warn(`request failed: status ${res.status} ${res.error || ''} ${(res.body || '').slice(0, 200)}`);
    return 'failed';
  }
  let ok;
  if (stream) {
    // k6 reads a streamed answer whole: it must end with [DONE], carry no error event, and have content chunks.
    const text = res.body || '';
    const events = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim());
    const chunks = events.filter((e) => /"content"\s*:\s*"(?!")/.test(e)).length;
    ok = check(res, {
      'stream ends with [DONE]': () => events.length > 0 && events[events.length - 1] === '[DONE]',
      'stream has no error event': () => !events.some((e) => e.startsWith('{"error"')),
      'stream has content': () => chunks > 0,
    }, allTags);
    streamChunks.add(chunks, allTags);
  } else {
    let json = null;
    try { json = res.json(); } catch (e) { /* checked below */ }
    ok = check(res, {
      'answer has a choice': () => json !== null && Array.isArray(json.choices) && json.choices.length === 1,
      'answer has usage': () => json !== null && json.usage && json.usage.completion_tokens > 0,
    }, allTags);
  }
  if (!ok) {
    failures.add(1, allTags);
    warn(`an answer failed its checks: ${(res.body || '').slice(-300)}`);
    return 'failed';
  }
  completed.add(1, allTags);
  e2e.add(res.timings.duration, allTags);
  return 'ok';
}

/** Fails the test at once when the target is not serving the model, rather than reporting 100% failures. */
export function preflight() {
  if (!MODEL) {
    fail('MODEL is not set (scripts/k6/run.sh sets it from GET /v1/models)');
  }
  const res = http.get(`${BASE_URL}/v1/models`, { timeout: '10s' });
  if (res.status !== 200) {
    fail(`GET ${BASE_URL}/v1/models answered ${res.status} ${res.error || ''}: is the function running?`);
  }
  const ids = (res.json().data || []).map((m) => m.id);
  if (!ids.includes(MODEL)) {
    fail(`model id mismatch: ${BASE_URL} serves ${JSON.stringify(ids)}, not '${MODEL}'`);
  }
  return { ids };
}

/** Seconds from an env var with a default, so the real runs and the smoke runs differ only in env. */
export function seconds(name, fallback) {
  const v = __ENV[name];
  return `${v ? parseInt(v, 10) : fallback}s`;
}
