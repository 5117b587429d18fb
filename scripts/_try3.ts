import { runKvWorkload } from '../lib/check/kv-workload';
import { checkLinearizability } from '../lib/check/linearizability';
import { checkLinearizability as old } from '../bench/baseline-linearizability';
(async () => {
  const hs = [];
  for (let seed = 1; seed <= 100; seed++) hs.push((await runKvWorkload({ seed, nodes: 5, clients: 8, keys: 2, faults: ['partitions', 'crashes', 'unreliable'] })).history);
  console.log('ops', hs.reduce((a, h) => a + h.length, 0), 'unknown', hs.reduce((a, h) => a + h.filter((o) => o.return === undefined).length, 0));
  for (let rep = 0; rep < 3; rep++) {
    let t0 = performance.now(); let steps = 0;
    for (const h of hs) steps += checkLinearizability(h).steps;
    const a = performance.now() - t0;
    t0 = performance.now(); let s2 = 0;
    for (const h of hs) s2 += old(h).steps;
    console.log('new', a.toFixed(1), steps, 'old', (performance.now() - t0).toFixed(1), s2);
  }
})();
