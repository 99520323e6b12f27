// Spike: one client, then a sudden crowd, then one client again. During the spike the function sheds
// (fast, with Retry-After); afterwards it must serve normally again.
//   KNLLAMA_K6_BASELINE (60 s), KNLLAMA_K6_SPIKE_VUS (24), KNLLAMA_K6_SPIKE (30 s), KNLLAMA_K6_RECOVERY (60 s), KNLLAMA_K6_MAX_TOKENS (32)
import { request, preflight, BASE_THRESHOLDS, seconds } from './lib.js';
import exec from 'k6/execution';

const BASELINE = parseInt(__ENV.KNLLAMA_K6_BASELINE || '60', 10);
const SPIKE = parseInt(__ENV.KNLLAMA_K6_SPIKE || '30', 10);
const RECOVERY = parseInt(__ENV.KNLLAMA_K6_RECOVERY || '60', 10);
const SPIKE_VUS = parseInt(__ENV.KNLLAMA_K6_SPIKE_VUS || '24', 10);
const RAMP = 3;

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-vus',
      startVUs: 1,
      stages: [
        { duration: `${BASELINE}s`, target: 1 },
        { duration: `${RAMP}s`, target: SPIKE_VUS },
        { duration: `${SPIKE}s`, target: SPIKE_VUS },
        { duration: `${RAMP}s`, target: 1 },
        { duration: `${RECOVERY}s`, target: 1 },
      ],
      // Longer than the request timeout (120 s): a request cut off at the end would count as a failure.
      gracefulRampDown: '130s',
      gracefulStop: '130s',
    },
  },
  thresholds: Object.assign({}, BASE_THRESHOLDS, {
    // After the crowd has gone (and the queue it left has drained: the first third of the recovery), the one
    // remaining client must be served, not shed.
    'completed{phase:recovery}': ['count>0'],
    'shed{phase:recovery}': ['count==0'],
    'completed{phase:baseline}': ['count>0'],
  }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() {
  return preflight();
}

function phase() {
  const t = (Date.now() - exec.scenario.startTime) / 1000;
  if (t < BASELINE) return 'baseline';
  if (t < BASELINE + 2 * RAMP + SPIKE + RECOVERY / 3) return 'spike';
  return 'recovery';
}

export default function () {
  request({ phase: phase() });
}
