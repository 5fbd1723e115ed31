import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../../functions/core/sha256';

describe('Sha256', () => {
  it('matches a reference implementation across block boundaries and split updates', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 70_000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 131 + 7) & 255);
      for (const step of [1, 13, 64, 4096]) {
        const h = new Sha256();
        for (let i = 0; i < n; i += step) h.update(data.subarray(i, i + step));
        expect(h.digestHex(), `${n} bytes in steps of ${step}`).toBe(createHash('sha256').update(data).digest('hex'));
      }
    }
  });

  it('refuses updates after the digest', () => {
    const h = new Sha256();
    h.digestHex();
    expect(() => h.update(new Uint8Array(1))).toThrow(/after digest/);
  });
});
