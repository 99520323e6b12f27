// A mix of what a real service sees, for the dashboard's screenshot (scripts/render-dashboard.sh): streamed and
// whole chat answers, answers cut by max_tokens, clients that leave mid-stream, invalid requests, and more clients
// than slots so that some requests queue and some are shed (503), spread over several servers (revisions).
// Nothing is judged here: the metrics the servers export are the product.
//   BASE_URLS (comma-separated), MODEL, KNLLAMA_K6_VUS (5), KNLLAMA_K6_DURATION (150 s)
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { send, body } from './stream.js';

const URLS = (__ENV.BASE_URLS || '').split(',').filter((u) => u);
const MODEL = __ENV.MODEL || '';
if (URLS.length === 0 || !MODEL) {
  throw new Error('set BASE_URLS and MODEL');
}
const QUESTIONS = [
  'What is the capital of France?',
  'Name three colours of the rainbow.',
  'What is 12 times 12?',
  'Write a short poem about the sea.',
  'Why is the sky blue?',
  'Tell me a story about a llama who learns to fly.',
];
// Kinds of request and their weights.
const KINDS = [['stream', 5], ['whole', 3], ['short', 2], ['leave', 1], ['invalid', 1]];

export const options = {
  scenarios: {
    mixed: { executor: 'constant-vus', vus: parseInt(__ENV.KNLLAMA_K6_VUS || '5', 10),
      duration: `${parseInt(__ENV.KNLLAMA_K6_DURATION || '150', 10)}s`, gracefulStop: '130s' },
  },
  summaryTrendStats: ['med', 'p(90)', 'max'],
};
http.setResponseCallback(http.expectedStatuses(200, 400, 503));
const answers = new Counter('answers');

function pick(items) {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let r = Math.random() * total;
  for (const [item, weight] of items) {
    if ((r -= weight) < 0) return item;
  }
  return items[items.length - 1][0];
}

export default function () {
  const url = URLS[exec.vu.idInTest % URLS.length];
  const kind = pick(KINDS);
  const question = QUESTIONS[Math.floor(Math.random() * QUESTIONS.length)];
  const maxTokens = kind === 'short' ? 4 : [24, 48, 96][Math.floor(Math.random() * 3)];
  const payload = Object.assign(body('chat', MODEL, question, maxTokens), { temperature: kind === 'invalid' ? 5 : 0.7 });
  let status;
  if (kind === 'stream' || kind === 'leave') {
    // A client that leaves closes the connection after 3 events, which cancels the generation.
    const r = send(url, 'chat', payload, kind === 'leave' ? { max_events: 3 } : {});
    status = r.status || 'failed';
  } else {
    delete payload.stream;
    delete payload.stream_options;
    status = http.post(`${url}/v1/chat/completions`, JSON.stringify(payload),
      { headers: { 'Content-Type': 'application/json' }, timeout: '120s' }).status;
  }
  answers.add(1, { kind: kind, status: String(status) });
  sleep(0.05 + Math.random() * 0.55);
}
