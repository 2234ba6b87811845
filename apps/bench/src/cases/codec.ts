import { performance } from 'node:perf_hooks';
import { encodeFrame, FRAME_HEADER_SIZE, FrameDecoder, recordSize, type WalOp } from '@wal/codec';
import { type CaseResult, keyFor, randomBytes, repeat } from '../harness.js';

/** Codec encode and decode throughput (MB/s of frames), many records into one buffer. */
export async function codecThroughput(
  valueBytes: number,
  records: number,
  rounds: number,
): Promise<CaseResult[]> {
  const value = randomBytes(valueBytes, 6);
  const ops: WalOp[][] = Array.from({ length: records }, (_, i) => [
    { type: 'put', key: keyFor(i), value },
  ]);
  const frame = FRAME_HEADER_SIZE + recordSize(ops[0] as WalOp[]);
  const out = new Uint8Array(frame * records);
  const mb = out.length / 1e6;
  const encode = await repeat(`codec: encode (${valueBytes} B)`, 'MB/s', rounds, () => {
    const start = performance.now();
    let p = 0;
    for (let i = 0; i < records; i++) p = encodeFrame(out, p, i, ops[i] as WalOp[]);
    return mb / ((performance.now() - start) / 1000);
  });
  const decode = await repeat(
    `codec: decode, 1 MiB chunks (${valueBytes} B)`,
    'MB/s',
    rounds,
    () => {
      const start = performance.now();
      const decoder = new FrameDecoder();
      let n = 0;
      for (let p = 0; p < out.length; p += 1 << 20) {
        decoder.push(out.subarray(p, Math.min(out.length, p + (1 << 20))));
        for (const r of decoder) n += r.kind === 'record' ? 1 : 0;
      }
      if (n !== records) throw new Error(`decoded ${n} of ${records} records`);
      return mb / ((performance.now() - start) / 1000);
    },
  );
  return [encode, decode];
}
