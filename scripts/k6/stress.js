// Stress: more and more clients, past what 2 slots and the wait queue (4 per slot) hold, so the function
// must shed. Shed answers must be 503 + Retry-After and fast; everything admitted must complete.
//   KNLLAMA_K6_STAGE (60 s per step), KNLLAMA_K6_STEPS ("2,4,8,16,24" clients), KNLLAMA_K6_MAX_TOKENS (32), KNLLAMA_K6_STREAM_RATIO (0.5)
import { request, preflight, BASE_THRESHOLDS, seconds } from './lib.js';

const STEPS = (__ENV.KNLLAMA_K6_STEPS || '2,4,8,16,24').split(',').map((n) => parseInt(n, 10));
const STAGE = seconds('KNLLAMA_K6_STAGE', 60);

export const options = {
  scenarios: {
    stress: {
      executor: 'ramping-vus',
      startVUs: 1,
      // A short ramp into each step, then a hold: the holds are the measured plateaus.
      stages: STEPS.flatMap((n) => [{ duration: '5s', target: n }, { duration: STAGE, target: n }])
        .concat([{ duration: '5s', target: 0 }]),
      // Longer than the request timeout (120 s): a request cut off at the end would count as a failure.
      gracefulRampDown: '130s',
      gracefulStop: '130s',
    },
  },
  thresholds: Object.assign({}, BASE_THRESHOLDS, { completed: ['count>0'] }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() {
  return preflight();
}

export default function () {
  request();
}
