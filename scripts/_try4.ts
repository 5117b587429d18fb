import { runKvWorkload } from '../lib/check/kv-workload';
import { checkLinearizability } from '../lib/check/linearizability';
(async () => {
  const hs = [];
  for (let seed = 1; seed <= 100; seed++) hs.push((await runKvWorkload({ seed, nodes: 5, clients: 8, keys: 2, faults: ['partitions', 'crashes', 'unreliable'] })).history);
  const t0 = performance.now();
  for (let rep = 0; rep < 30; rep++) for (const h of hs) checkLinearizability(h);
  console.log('per pass', ((performance.now() - t0) / 30).toFixed(1));
})();
