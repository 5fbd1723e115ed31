// A cap on what a RUN step or a container writes to its overlay's upper dir. The runner's disk has no
// per-directory quota to lean on (ext4 project quotas need a mount option runners do not have), so a
// watcher measures the upper dir (`du`, one filesystem, allocated blocks) every few seconds and calls
// `onExceeded` once it is past the limit: the caller ends the writer. A fast writer can overshoot by
// what it writes in one interval; the cap keeps a `yes > /file` from filling the runner's disk.
import { runCommand } from './exec';

export interface DiskWatch {
  stop(): void;
  /** The size last measured, in bytes. */
  readonly lastBytes: number;
}

export const DEFAULT_DISK_WATCH_MS = 1_000;

/** `du -sx --block-size=1` output → bytes; undefined when it is not a number. */
export function parseDuBytes(out: string): number | undefined {
  const m = /^(\d+)\s/.exec(out);
  return m ? Number(m[1]) : undefined;
}

/** The bytes allocated under `dir` (one filesystem); undefined when it cannot be measured. */
export async function measureDiskUse(dir: string): Promise<number | undefined> {
  const r = await runCommand(['du', '-sx', '--block-size=1', dir], { timeoutMs: 30_000 }).catch(() => undefined);
  return r && r.code === 0 ? parseDuBytes(r.stdout) : undefined;
}

export function watchDiskUse(dir: string, limitBytes: number, onExceeded: (bytes: number) => void, intervalMs = DEFAULT_DISK_WATCH_MS): DiskWatch {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const state = { lastBytes: 0 };
  const tick = async () => {
    const bytes = await measureDiskUse(dir);
    if (stopped) return;
    if (bytes !== undefined) state.lastBytes = bytes;
    if (bytes !== undefined && bytes > limitBytes) {
      stopped = true;
      onExceeded(bytes);
      return;
    }
    timer = setTimeout(() => void tick(), intervalMs);
    timer.unref();
  };
  timer = setTimeout(() => void tick(), intervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    get lastBytes() {
      return state.lastBytes;
    },
  };
}

/** Bytes from a size in GiB given by configuration; the default when unset or not positive. */
export function parseDiskLimit(raw: string | undefined, defaultGiB: number): number {
  const gib = raw === undefined || raw === '' ? defaultGiB : Number(raw);
  return Math.round((Number.isFinite(gib) && gib > 0 ? gib : defaultGiB) * 1024 ** 3);
}
