// Soak: a steady arrival rate below capacity for a long time. k6 checks that nothing fails; run.sh samples
// the function's memory throughout and compares the start and end windows of memory and latency (phase tags).
//   KNLLAMA_K6_RATE (1 request/s), KNLLAMA_K6_DURATION (600 s), KNLLAMA_K6_MAX_TOKENS (32), KNLLAMA_K6_STREAM_RATIO (0.5)
// Phases by elapsed share of KNLLAMA_K6_DURATION: warmup 0-10%, start 10-30%, middle, end 80-100%.
import { request, preflight, BASE_THRESHOLDS } from './lib.js';
import exec from 'k6/execution';

const RATE = parseFloat(__ENV.KNLLAMA_K6_RATE || '1');
const DURATION = parseInt(__ENV.KNLLAMA_K6_DURATION || '600', 10);

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      // k6 takes whole iterations per timeUnit: express the rate per minute to allow fractions per second.
      rate: Math.round(RATE * 60),
      timeUnit: '1m',
      duration: `${DURATION}s`,
      preAllocatedVUs: 4,
      maxVUs: 16,
      // Longer than the request timeout (120 s): a request cut off at the end would count as a failure.
      gracefulStop: '130s',
    },
  },
  thresholds: Object.assign({}, BASE_THRESHOLDS, {
    // At a rate below capacity nothing should be shed. The phase thresholds always pass; they are there so
    // the summary export carries each window's latency for run.sh to compare.
    shed: ['count==0'],
    dropped_iterations: ['count==0'],
    'e2e{phase:start}': ['max>=0'],
    'e2e{phase:end}': ['max>=0'],
  }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() {
  return preflight();
}

function phase() {
  const share = (Date.now() - exec.scenario.startTime) / 1000 / DURATION;
  if (share < 0.1) return 'warmup';
  if (share < 0.3) return 'start';
  if (share < 0.8) return 'middle';
  return 'end';
}

export default function () {
  request({ phase: phase() });
}
