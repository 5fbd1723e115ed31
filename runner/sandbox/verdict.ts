// What happened to a sandboxed process, in words a build log can show: the exit code alone cannot
// tell an OOM kill from a `kill -9`, so the cgroup counters and our own kill reasons decide.
import type { CgroupVerdict } from './cgroup';

export interface SandboxResult {
  exitCode: number;
  /** Set when the process died of a signal (exit code 128+n). */
  signal?: string;
  oomKilled: boolean;
  pidsLimitHit: boolean;
  reason: string;
  durationMs: number;
}

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
  9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
  31: 'SIGSYS',
};

export interface RunFacts {
  exitCode: number;
  killedFor?: 'timeout' | 'cancelled';
  timeoutMs?: number;
  memoryBytes?: number;
  pidsLimit?: number;
  verdict: CgroupVerdict;
  /** runc's own error, when the process could not be started. */
  startError?: string;
  durationMs: number;
}

export function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${Math.round(mib * 10) / 10} MiB`;
}

export function describeRunResult(facts: RunFacts): SandboxResult {
  const { exitCode } = facts;
  const signal = exitCode > 128 && exitCode <= 128 + 64 ? (SIGNALS[exitCode - 128] ?? `signal ${exitCode - 128}`) : undefined;
  const base = { exitCode, oomKilled: false, pidsLimitHit: facts.verdict.pidsLimitHit, durationMs: facts.durationMs, ...(signal ? { signal } : {}) };
  if (facts.killedFor === 'timeout') {
    return { ...base, reason: `killed: timeout after ${Math.round((facts.timeoutMs ?? 0) / 1000)} s` };
  }
  if (facts.killedFor === 'cancelled') return { ...base, reason: 'cancelled' };
  // The OOM killer took the process or one it depended on: that is the failure to report.
  if (exitCode !== 0 && facts.verdict.oomKilled) {
    return { ...base, oomKilled: true, reason: facts.memoryBytes !== undefined ? `out of memory (limit ${formatBytes(facts.memoryBytes)})` : 'out of memory' };
  }
  if (exitCode !== 0 && facts.startError) return { ...base, reason: `cannot start: ${facts.startError}` };
  if (exitCode !== 0 && facts.verdict.pidsLimitHit) {
    return { ...base, reason: `pids limit reached (${facts.pidsLimit ?? '?'} processes); exit code ${exitCode}` };
  }
  if (signal) return { ...base, reason: `killed by ${signal}` };
  return { ...base, reason: exitCode === 0 ? 'exited with code 0' : `exited with code ${exitCode}` };
}
