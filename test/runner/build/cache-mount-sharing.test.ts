// RUN --mount=type=cache,sharing=…: shared RUNs write at once, a locked one waits its turn, a
// private one gets its own directory while the cache is taken.
import { describe, expect, it } from 'vitest';
import { acquireCacheMount } from '../../../runner/build/cache-mount-sharing';

const dir = () => `/cache/${Math.random().toString(36).slice(2)}`;
const never = async () => {
  throw new Error('no fallback expected');
};
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('acquireCacheMount', () => {
  it('lets shared RUNs use the directory together', async () => {
    const d = dir();
    const a = await acquireCacheMount(d, 'shared', never);
    const b = await acquireCacheMount(d, 'shared', never);
    expect([a.dir, b.dir]).toEqual([d, d]);
    a.release();
    b.release();
  });

  it('makes locked RUNs take turns, in order, behind any holder', async () => {
    const d = dir();
    const order: string[] = [];
    const first = await acquireCacheMount(d, 'shared', never);
    const second = acquireCacheMount(d, 'locked', never).then((t) => (order.push('second'), t));
    const third = acquireCacheMount(d, 'locked', never).then((t) => (order.push('third'), t));
    await tick();
    expect(order).toEqual([]);
    first.release();
    const s = await second;
    await tick();
    expect(order).toEqual(['second']);
    s.release();
    (await third).release();
    expect(order).toEqual(['second', 'third']);
    // All released: a new locked RUN goes straight in.
    (await acquireCacheMount(d, 'locked', never)).release();
  });

  it('gives a private RUN its own directory while the cache is taken, and the cache when it is free', async () => {
    const d = dir();
    const held = await acquireCacheMount(d, 'locked', never);
    expect((await acquireCacheMount(d, 'private', async () => '/tmp/own')).dir).toBe('/tmp/own');
    held.release();
    const free = await acquireCacheMount(d, 'private', never);
    expect(free.dir).toBe(d);
    free.release();
  });

  it('stops waiting for a lock when the build is cancelled', async () => {
    const d = dir();
    const held = await acquireCacheMount(d, 'locked', never);
    const ac = new AbortController();
    const waiting = acquireCacheMount(d, 'locked', never, ac.signal);
    ac.abort(new Error('Build cancelled'));
    await expect(waiting).rejects.toThrow('Build cancelled');
    held.release();
    (await acquireCacheMount(d, 'locked', never)).release();
  });
});
