// Repair's salt solvers: a header whose salt field alone rotted gets its own salt back from its CRC.
import {
  DEFAULT_MAX_RECORD_BYTES,
  decodeSegmentHeader,
  encodeSegmentHeader,
  HEADER_SALT_OFFSET,
  readU32,
  writeU32,
} from '@wal/codec';
import { solveHeaderSalt } from '@wal/codec/internal';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

describe('solveHeaderSalt', () => {
  test('a header with any bits of its salt flipped: the solved salt is the one written', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 40 }),
        fc.nat({ max: 2 ** 40 }),
        fc.nat({ max: 0xffff_ffff }),
        fc.integer({ min: 1, max: 0xffff_ffff }),
        fc.stringMatching(/^[0-9a-f]{16}$/),
        (segment, firstSequence, salt, mask, logId) => {
          const header = encodeSegmentHeader({
            segment,
            firstSequence,
            salt,
            maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
            logId,
          });
          const rotted = header.slice();
          writeU32(rotted, HEADER_SALT_OFFSET, (salt ^ mask) >>> 0);
          expect(decodeSegmentHeader(rotted)).toHaveProperty('reason', 'bad-header');
          expect(solveHeaderSalt(rotted)).toBe(salt);
          // Leaves the buffer as it was.
          expect(readU32(rotted, HEADER_SALT_OFFSET)).toBe((salt ^ mask) >>> 0);
        },
      ),
    );
  });
});
