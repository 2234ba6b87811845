import { performance } from 'node:perf_hooks';
import { type CaseResult, keyFor, randomBytes, repeat } from '../harness.js';
import { checkFrameCrcs, decodeChunked, encodedFrames } from '../wal-api.js';

/** Row names of the codec cases. */
export function codecName(what: 'encode' | 'decode' | 'crc', valueBytes: number): string {
  const label = { encode: 'encode', decode: 'decode, 1 MiB chunks', crc: 'frame CRC alone' }[what];
  return `codec: ${label} (${valueBytes} B)`;
}

/**
 * The codec alone, on many one-put frames in one buffer (MB/s of frames):
 * encode, decode in 1 MiB chunks, and the decoder's frame checksum alone.
 * Decode and CRC are the physical limits the recovery scan is judged beside.
 */
export async function codecThroughput(
  valueBytes: number,
  records: number,
  rounds: number,
): Promise<CaseResult[]> {
  const { bytes, frameBytes, encode } = encodedFrames(records, keyFor, randomBytes(valueBytes, 6));
  const mb = bytes.length / 1e6;
  const rate = (work: () => void) => {
    const start = performance.now();
    work();
    return mb / ((performance.now() - start) / 1000);
  };
  const check = (what: string, n: number) => {
    if (n !== records) throw new Error(`${what}: ${n} of ${records} records`);
  };
  return [
    await repeat(codecName('encode', valueBytes), 'MB/s', rounds, () => rate(encode)),
    await repeat(codecName('decode', valueBytes), 'MB/s', rounds, () =>
      rate(() => check('decoded', decodeChunked(bytes))),
    ),
    await repeat(codecName('crc', valueBytes), 'MB/s', rounds, () =>
      rate(() => check('CRC matched', checkFrameCrcs(bytes, frameBytes))),
    ),
  ];
}
