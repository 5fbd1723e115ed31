// Docker's resize calls (`?h=<rows>&w=<cols>`), passed to the runner that holds the terminal. A
// container without a terminal has nothing to resize: Docker answers those with success too.
import type { Platform } from '../platform';
import { dockerError } from './engine-errors';

export function parseTerminalSize(h: string | undefined, w: string | undefined): { rows: number; cols: number } {
  const rows = Number(h ?? 0);
  const cols = Number(w ?? 0);
  if (!Number.isInteger(rows) || rows < 0 || rows > 10_000 || !Number.isInteger(cols) || cols < 0 || cols > 10_000) {
    throw dockerError(400, `Invalid terminal size "${h ?? ''}x${w ?? ''}": h and w are whole numbers up to 10000`);
  }
  return { rows, cols };
}

export async function resizeTerminal(platform: Platform, request: { containerId: string; execId?: string; rows: number; cols: number }): Promise<void> {
  if (!platform.runnerSessions || request.rows === 0 || request.cols === 0) return;
  try {
    await platform.runnerSessions.resize(request);
  } catch (e) {
    if (/has no terminal/.test((e as Error).message)) return;
    throw dockerError(409, (e as Error).message);
  }
}
