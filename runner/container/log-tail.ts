// Follows a container's stdout/stderr files (the container writes them directly through the fds its
// shim handed runc, so nothing is lost while the runner is down). Offsets are saved after each batch
// is delivered, so a restarted runner resumes where the last delivered line ended.
//
// Rotation: the container holds the files open for appending, so they cannot be renamed or cut
// without losing what it writes meanwhile. Instead, once the delivered part has grown by
// `reclaimBytes`, its disk blocks are freed by punching a hole (fallocate): offsets stay valid for the
// tail and for attach sessions, the file only becomes sparse. The holes are saved with the offsets.
import { open, readFile, writeFile, rename } from 'node:fs/promises';
import { runCommand } from '../sandbox/exec';

export interface LogLineOut {
  stream: 'stdout' | 'stderr';
  line: string;
  at: Date;
}

const MAX_LINE = 16 * 1024;
const READ_CHUNK = 256 * 1024;

export interface LogTailOptions {
  files: Record<'stdout' | 'stderr', string>;
  offsetsFile: string;
  /** Called with each batch; the offset advances only once it resolves. */
  deliver: (lines: LogLineOut[]) => Promise<void>;
  intervalMs?: number;
  /** Free the disk blocks of delivered output each time this much more has been delivered (0: never). */
  reclaimBytes?: number;
}

export const DEFAULT_RECLAIM_BYTES = 8 * 1024 * 1024;

/** Where a file's data starts after punching holes: 4 KiB blocks, below `delivered`. */
export function nextHoleEnd(delivered: number, punched: number, reclaimBytes: number): number | undefined {
  const end = Math.floor(delivered / 4096) * 4096;
  return reclaimBytes > 0 && end - punched >= reclaimBytes ? end : undefined;
}

interface Cursor {
  offset: number;
  partial: string;
}

/** Splits text into complete lines (overlong ones cut) and the unterminated rest. */
export function splitLines(pending: string): { lines: string[]; rest: string } {
  const lines: string[] = [];
  let rest = pending;
  let nl: number;
  while ((nl = rest.indexOf('\n')) >= 0) {
    let line = rest.slice(0, nl);
    rest = rest.slice(nl + 1);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    while (line.length > MAX_LINE) {
      lines.push(line.slice(0, MAX_LINE));
      line = line.slice(MAX_LINE);
    }
    lines.push(line);
  }
  while (rest.length > MAX_LINE) {
    lines.push(rest.slice(0, MAX_LINE));
    rest = rest.slice(MAX_LINE);
  }
  return { lines, rest };
}

export class LogTail {
  private cursors: Record<'stdout' | 'stderr', Cursor> = { stdout: { offset: 0, partial: '' }, stderr: { offset: 0, partial: '' } };
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Bytes at the start of each file already given back to the disk. */
  readonly holes: Record<'stdout' | 'stderr', number> = { stdout: 0, stderr: 0 };

  constructor(private readonly o: LogTailOptions) {}

  async start(): Promise<void> {
    try {
      const saved = JSON.parse(await readFile(this.o.offsetsFile, 'utf8')) as Record<'stdout' | 'stderr', number> & { holes?: Record<'stdout' | 'stderr', number> };
      this.cursors.stdout.offset = saved.stdout ?? 0;
      this.cursors.stderr.offset = saved.stderr ?? 0;
      this.holes.stdout = saved.holes?.stdout ?? 0;
      this.holes.stderr = saved.holes?.stderr ?? 0;
    } catch {
      // first start: from the beginning
    }
    const tick = () => {
      if (this.stopped) return;
      this.busy = this.poll().catch(() => {}).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs ?? 200);
      });
    };
    tick();
  }

  /** Reads what is new now; with `final`, an unterminated last line is delivered too. */
  async poll(final = false): Promise<void> {
    const out: LogLineOut[] = [];
    const next: Record<'stdout' | 'stderr', Cursor> = { stdout: { ...this.cursors.stdout }, stderr: { ...this.cursors.stderr } };
    for (const stream of ['stdout', 'stderr'] as const) {
      const c = next[stream];
      let fh;
      try {
        fh = await open(this.o.files[stream], 'r');
      } catch {
        continue;
      }
      try {
        const buf = Buffer.alloc(READ_CHUNK);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, c.offset);
          if (bytesRead === 0) break;
          c.offset += bytesRead;
          // A multi-byte character split across reads turns into U+FFFD at worst; acceptable for logs.
          const { lines, rest } = splitLines(c.partial + buf.subarray(0, bytesRead).toString('utf8'));
          c.partial = rest;
          const at = new Date();
          for (const line of lines) out.push({ stream, line, at });
          if (bytesRead < READ_CHUNK) break;
        }
      } finally {
        await fh.close();
      }
      if (final && c.partial) {
        out.push({ stream, line: c.partial, at: new Date() });
        c.partial = '';
      }
    }
    if (out.length > 0) await this.o.deliver(out);
    // Offsets count bytes through the last complete line, so a partial line is re-read after a restart.
    const saved = {
      stdout: next.stdout.offset - Buffer.byteLength(next.stdout.partial),
      stderr: next.stderr.offset - Buffer.byteLength(next.stderr.partial),
    };
    this.cursors = next;
    await this.reclaim(saved);
    await writeFile(`${this.o.offsetsFile}.tmp`, JSON.stringify({ ...saved, holes: this.holes }));
    await rename(`${this.o.offsetsFile}.tmp`, this.o.offsetsFile);
  }

  private async reclaim(delivered: Record<'stdout' | 'stderr', number>): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      const end = nextHoleEnd(delivered[stream], this.holes[stream], this.o.reclaimBytes ?? DEFAULT_RECLAIM_BYTES);
      if (end === undefined) continue;
      const r = await runCommand(['fallocate', '--punch-hole', '--offset', '0', '--length', String(end), this.o.files[stream]]);
      // A filesystem without hole punching keeps the file whole; the next size step tries again.
      this.holes[stream] = end;
      if (r.code !== 0) return;
    }
  }

  /** Stops following after delivering everything written so far. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.busy;
    await this.poll(true).catch(() => {});
  }
}
