// Concurrent RUNs on one runner that name the same cache mount, as BuildKit's `sharing=` says:
// `shared` (the default) lets them all write at once; `locked` makes a RUN wait until no other RUN
// holds the cache; `private` gives a RUN its own empty directory while another one holds it.
// Runners share nothing here: each keeps its own cache directories.

export type CacheSharing = 'shared' | 'private' | 'locked';

interface Holders {
  /** RUNs using the directory now, any mode. */
  count: number;
  /** Waiters for the directory to be free, woken in order. */
  waiting: (() => void)[];
}

const holders = new Map<string, Holders>();

function entry(dir: string): Holders {
  let h = holders.get(dir);
  if (!h) holders.set(dir, (h = { count: 0, waiting: [] }));
  return h;
}

/**
 * Takes the cache directory for a RUN. Resolves with the directory to mount (`fallback()`'s for a
 * `private` RUN that found it taken) and the release to call once the RUN has ended. A `locked` RUN
 * gives up waiting when the signal aborts.
 */
export async function acquireCacheMount(dir: string, sharing: CacheSharing, fallback: () => Promise<string>, signal?: AbortSignal): Promise<{ dir: string; release: () => void }> {
  const h = entry(dir);
  if (sharing === 'private' && h.count > 0) return { dir: await fallback(), release: () => {} };
  if (sharing === 'locked') {
    while (h.count > 0) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('Cancelled while waiting for a locked cache mount');
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        };
        const abort = () => {
          h.waiting.splice(h.waiting.indexOf(wake), 1);
          reject(signal?.reason instanceof Error ? signal.reason : new Error('Cancelled while waiting for a locked cache mount'));
        };
        h.waiting.push(wake);
        signal?.addEventListener('abort', abort, { once: true });
      });
    }
  }
  h.count++;
  let released = false;
  return {
    dir,
    release: () => {
      if (released) return;
      released = true;
      h.count--;
      if (h.count > 0) return;
      // Every waiter retries; the first to run takes the lock, the rest wait again.
      const waiters = h.waiting.splice(0);
      if (waiters.length === 0) holders.delete(dir);
      for (const w of waiters) w();
    },
  };
}
