// Logs as Server-Sent Events that follow their subject until it ends. Runners append lines to
// Postgres; this polls for new ones with backoff (LISTEN is not available on Workers), sends each as
// an event whose id is the line's, so a reconnecting EventSource resumes with Last-Event-ID.
import { readLogLines, type LogSubject } from '../../db/queries/logs';
import type { Db } from '../../db/client';

export interface FollowOptions {
  afterId: number;
  /** Undefined while the subject runs; the closing event's data once it has ended. */
  checkEnded: () => Promise<Record<string, unknown> | undefined>;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A comment line this often keeps proxies from closing an idle stream. */
  keepAliveMs?: number;
}

const enc = new TextEncoder();

export function formatEvent(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function followLogs(db: Db, subject: LogSubject, opts: FollowOptions): ReadableStream<Uint8Array> {
  const minDelay = opts.minDelayMs ?? 200;
  const maxDelay = opts.maxDelayMs ?? 2000;
  const keepAlive = opts.keepAliveMs ?? 15_000;
  let lastId = opts.afterId;
  let delay = minDelay;
  let cancelled = false;
  let lastSent = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });

  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(enc.encode(`retry: 2000\n\n`));
    },
    async pull(controller) {
      while (!cancelled) {
        // Whether it ended is read before the lines, so lines written just before the end are sent.
        const ended = await opts.checkEnded();
        const lines = await readLogLines(db, subject, lastId, 500);
        if (lines.length > 0) {
          lastId = lines[lines.length - 1]!.id;
          controller.enqueue(enc.encode(lines.map((l) => formatEvent('log', { stream: l.stream, line: l.line, at: l.at.toISOString() }, l.id)).join('')));
          lastSent = Date.now();
          delay = minDelay;
          if (lines.length === 500 || !ended) return;
        }
        if (ended) {
          controller.enqueue(enc.encode(formatEvent('end', ended)));
          controller.close();
          return;
        }
        if (Date.now() - lastSent >= keepAlive) {
          controller.enqueue(enc.encode(': keep-alive\n\n'));
          lastSent = Date.now();
          await sleep(delay);
          return;
        }
        await sleep(delay);
        delay = Math.min(maxDelay, Math.round(delay * 1.5));
      }
    },
    cancel() {
      cancelled = true;
      if (timer) clearTimeout(timer);
    },
  });
}

/** All lines so far as text, one per line, read page by page. */
export function logText(db: Db, subject: LogSubject): ReadableStream<Uint8Array> {
  let lastId = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const lines = await readLogLines(db, subject, lastId, 1000);
      if (lines.length === 0) return controller.close();
      lastId = lines[lines.length - 1]!.id;
      controller.enqueue(enc.encode(lines.map((l) => `${l.line}\n`).join('')));
    },
  });
}

export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

/** Whether the client asked for events: an EventSource sends Accept: text/event-stream. */
export function wantsEvents(accept: string | undefined, follow: string | undefined): boolean {
  return follow === 'true' || follow === '1' || (accept ?? '').includes('text/event-stream');
}
