// A build's log, streamed into Postgres as it happens: lines are batched (one INSERT per flush, a
// flush at most every 250 ms or 200 lines) so a chatty RUN costs few round trips, and readers see
// output within a fraction of a second.
import type { Db } from '../../db/client';
import { appendLogLines, type LogStream } from '../../db/queries/logs';

export interface BuildLog {
  line(text: string, stream?: LogStream): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const FLUSH_MS = 250;
const FLUSH_LINES = 200;
const MAX_LINE = 16 * 1024;

export function createBuildLog(db: Db, buildId: string, echo?: (line: string) => void): BuildLog {
  let pending: { stream: LogStream; line: string; at: Date }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length > 0) chain = chain.then(() => appendLogLines(db, { kind: 'build', id: buildId }, batch)).catch(() => {});
    return chain;
  };
  return {
    line(text, stream = 'stdout') {
      const line = text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text;
      echo?.(line);
      pending.push({ stream, line, at: new Date() });
      if (pending.length >= FLUSH_LINES) void flush();
      else timer ??= setTimeout(() => void flush(), FLUSH_MS);
    },
    flush,
    close: flush,
  };
}
