// Docker's restart policies and backoff, pure. A container stopped on request is never restarted;
// `unless-stopped` differs from `always` only in surviving a runner restart after such a stop,
// which Berth gets for free because the row's status says "exited" and nothing restarts it.

export type RestartPolicy =
  | { name: 'no' }
  | { name: 'always' }
  | { name: 'unless-stopped' }
  | { name: 'on-failure'; maxRetries?: number };

/** `no`, `always`, `unless-stopped`, `on-failure`, `on-failure:N`. */
export function parseRestartPolicy(value: string): RestartPolicy {
  const v = value.trim();
  if (v === '' || v === 'no') return { name: 'no' };
  if (v === 'always' || v === 'unless-stopped') return { name: v };
  const m = /^on-failure(?::(\d{1,6}))?$/.exec(v);
  if (m) return m[1] === undefined ? { name: 'on-failure' } : { name: 'on-failure', maxRetries: Number(m[1]) };
  throw new Error(`Cannot use restart policy "${value}": expected no, always, unless-stopped or on-failure[:N]`);
}

export function formatRestartPolicy(p: RestartPolicy): string {
  return p.name === 'on-failure' && p.maxRetries !== undefined ? `on-failure:${p.maxRetries}` : p.name;
}

/** Whether an exit leads to a restart. `restarts` counts the restarts already made. */
export function shouldRestart(p: RestartPolicy, exit: { exitCode: number; stoppedByRequest: boolean }, restarts: number): boolean {
  if (exit.stoppedByRequest) return false;
  switch (p.name) {
    case 'no':
      return false;
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exit.exitCode !== 0 && (p.maxRetries === undefined || p.maxRetries === 0 || restarts < p.maxRetries);
  }
}

export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
/** A run at least this long resets the backoff, as Docker does. */
export const BACKOFF_RESET_AFTER_MS = 10_000;

/**
 * The delay before the next start: doubles from 100 ms up to a minute; `previousDelayMs` is the last
 * delay (0 for none), reset when the container had been running long enough.
 */
export function nextRestartDelay(previousDelayMs: number, ranForMs: number): number {
  if (ranForMs >= BACKOFF_RESET_AFTER_MS || previousDelayMs <= 0) return BACKOFF_START_MS;
  return Math.min(previousDelayMs * 2, BACKOFF_MAX_MS);
}
