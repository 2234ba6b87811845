import { randomBytes } from 'node:crypto';
import { Memtable } from './src/index.js';

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const N = 1_000_000;
const raw = randomBytes(N * 16);
const keys = Array.from({ length: N }, (_, i) => raw.subarray(i * 16, i * 16 + 16));
const probes = [...keys].sort(() => Math.random() - 0.5);
const val = randomBytes(8);
for (let r = 0; r < 3; r++) {
  const t = new Memtable();
  let s = cpu();
  for (let i = 0; i < N; i++) t.put(keys[i]!, val);
  const put = N / (cpu() - s);
  s = cpu();
  let x = 0;
  for (let i = 0; i < N; i++) x += t.get(probes[i]!)!.length;
  const get = N / (cpu() - s);
  s = cpu();
  for (const [k, v] of t.entries()) x += k.length + (v?.length ?? 0);
  const it = N / (cpu() - s);
  console.log(
    'put',
    (put / 1e6).toFixed(2),
    'get',
    (get / 1e6).toFixed(2),
    'entries',
    (it / 1e6).toFixed(2),
    x > 0,
  );
}
