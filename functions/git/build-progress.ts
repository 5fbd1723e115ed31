// Following a build from the push: its log lines as they land, then how it ended. Polls with
// backoff, as Workers have no LISTEN.
import { getBuild } from '../../db/queries/builds';
import { readLogLines } from '../../db/queries/logs';
import type { Db } from '../../db/client';
import type { Build } from '../../db/schema';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface FollowOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Give up following (the build goes on) after this long. */
  timeoutMs?: number;
  /** Called when nothing happened for a while, so the caller can keep the connection alive. */
  onIdle?: () => void;
  sleep?: (ms: number) => Promise<void>;
  /** Stop following (the client went away); resolves with the build as it stands. */
  signal?: AbortSignal;
}

export async function followBuild(db: Db, buildId: string, onLine: (line: string) => void, o: FollowOptions = {}): Promise<Build | undefined> {
  const minDelay = o.minDelayMs ?? 100;
  const maxDelay = o.maxDelayMs ?? 2000;
  const sleep = o.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (o.timeoutMs ?? 60 * 60 * 1000);
  let after = 0;
  let delay = minDelay;
  let idleSince = Date.now();
  for (;;) {
    const lines = await readLogLines(db, { kind: 'build', id: buildId }, after, 500);
    for (const l of lines) {
      onLine(l.line);
      after = l.id;
    }
    if (lines.length > 0) {
      delay = minDelay;
      idleSince = Date.now();
      if (lines.length === 500) continue;
    }
    const build = await getBuild(db, buildId);
    if (!build) return undefined;
    if (TERMINAL.has(build.status)) {
      // Lines written just before the status change.
      for (const l of await readLogLines(db, { kind: 'build', id: buildId }, after, 10_000)) onLine(l.line);
      return build;
    }
    if (Date.now() > deadline || o.signal?.aborted) return build;
    if (Date.now() - idleSince > 5000) {
      o.onIdle?.();
      idleSince = Date.now();
    }
    await sleep(delay);
    delay = Math.min(maxDelay, Math.ceil(delay * 1.5));
  }
}
