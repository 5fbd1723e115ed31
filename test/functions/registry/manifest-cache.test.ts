import { describe, expect, it } from 'vitest';
import { ManifestCache, sharedManifestCache } from '../../../functions/registry/manifest-cache';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('ManifestCache', () => {
  it('keeps bytes by digest and evicts the least recently used past its byte bound', () => {
    const cache = new ManifestCache({ maxBytes: 300, maxEntryBytes: 200 });
    cache.set('sha256:a', bytes(100, 1));
    cache.set('sha256:b', bytes(100, 2));
    cache.set('sha256:c', bytes(100, 3));
    expect(cache.get('sha256:a')?.[0]).toBe(1);
    cache.set('sha256:d', bytes(100, 4));
    // b was the least recently used once a was read.
    expect(cache.get('sha256:b')).toBeUndefined();
    expect([cache.get('sha256:a')?.[0], cache.get('sha256:c')?.[0], cache.get('sha256:d')?.[0]]).toEqual([1, 3, 4]);
    expect(cache.bytes).toBe(300);
    cache.set('sha256:e', bytes(200, 5));
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBe(300);
    expect(cache.get('sha256:a')).toBeUndefined();
    expect(cache.get('sha256:e')?.length).toBe(200);
  });

  it('skips entries over the per-entry limit and counts a digest stored twice once', () => {
    const cache = new ManifestCache({ maxBytes: 1000, maxEntryBytes: 100 });
    cache.set('sha256:big', bytes(101));
    expect(cache.get('sha256:big')).toBeUndefined();
    expect(cache.bytes).toBe(0);
    cache.set('sha256:a', bytes(50));
    cache.set('sha256:a', bytes(50));
    expect([cache.size, cache.bytes]).toEqual([1, 50]);
    cache.delete('sha256:a');
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });

  it('is shared at one bound, and replaced when an entry asks for another', () => {
    const a = sharedManifestCache(1000);
    a.set('sha256:a', bytes(10));
    expect(sharedManifestCache(1000)).toBe(a);
    const b = sharedManifestCache(2000);
    expect(b).not.toBe(a);
    expect(b.limits).toEqual({ maxBytes: 2000, maxEntryBytes: 2000 });
    expect(b.get('sha256:a')).toBeUndefined();
  });
});
