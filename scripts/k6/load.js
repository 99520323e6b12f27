// Load: the traffic the function is sized for. As many closed-loop clients as slots (2 on a 2-core machine),
// half of them streaming, for KNLLAMA_K6_DURATION: nothing may fail and nothing should be shed.
//   KNLLAMA_K6_VUS (2), KNLLAMA_K6_RAMP (30 s), KNLLAMA_K6_DURATION (300 s), KNLLAMA_K6_MAX_TOKENS (32), KNLLAMA_K6_STREAM_RATIO (0.5)
import { request, preflight, BASE_THRESHOLDS, seconds } from './lib.js';

const VUS = parseInt(__ENV.KNLLAMA_K6_VUS || '2', 10);

export const options = {
  scenarios: {
    load: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: seconds('KNLLAMA_K6_RAMP', 30), target: VUS },
        { duration: seconds('KNLLAMA_K6_DURATION', 300), target: VUS },
        { duration: '5s', target: 0 },
      ],
      // Longer than the request timeout (120 s): a request cut off at the end would count as a failure.
      gracefulRampDown: '130s',
      gracefulStop: '130s',
    },
  },
  // At the load the function is sized for, shedding would mean admission control is too eager.
  thresholds: Object.assign({}, BASE_THRESHOLDS, { shed: ['count==0'], completed: ['count>0'] }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() {
  return preflight();
}

export default function () {
  request();
}
