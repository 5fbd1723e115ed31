import { describe, expect, it } from 'vitest';
import { describeRunResult, formatBytes } from '../../../runner/sandbox/verdict';

const calm = { oomKilled: false, pidsLimitHit: false };

describe('describeRunResult', () => {
  it('reports plain exits', () => {
    expect(describeRunResult({ exitCode: 0, verdict: calm, durationMs: 5 })).toEqual({
      exitCode: 0, oomKilled: false, pidsLimitHit: false, reason: 'exited with code 0', durationMs: 5,
    });
    expect(describeRunResult({ exitCode: 2, verdict: calm, durationMs: 5 }).reason).toBe('exited with code 2');
    expect(describeRunResult({ exitCode: 143, verdict: calm, durationMs: 5 })).toMatchObject({ signal: 'SIGTERM', reason: 'killed by SIGTERM' });
  });

  it('calls a SIGKILL under a hit memory limit an OOM kill', () => {
    expect(describeRunResult({ exitCode: 137, memoryBytes: 512 * 1024 * 1024, verdict: { oomKilled: true, pidsLimitHit: false }, durationMs: 9 })).toEqual({
      exitCode: 137, signal: 'SIGKILL', oomKilled: true, pidsLimitHit: false, reason: 'out of memory (limit 512 MiB)', durationMs: 9,
    });
    // A child OOM-killed under a shell that then fails is still an OOM failure.
    expect(describeRunResult({ exitCode: 100, memoryBytes: 256 * 1024 * 1024, verdict: { oomKilled: true, pidsLimitHit: false }, durationMs: 9 })).toMatchObject({
      oomKilled: true, reason: 'out of memory (limit 256 MiB)',
    });
    // A kill -9 without the OOM killer is not an OOM kill.
    expect(describeRunResult({ exitCode: 137, memoryBytes: 512 * 1024 * 1024, verdict: calm, durationMs: 9 })).toMatchObject({ oomKilled: false, reason: 'killed by SIGKILL' });
  });

  it('puts our own kills first', () => {
    const hit = { oomKilled: true, pidsLimitHit: true };
    expect(describeRunResult({ exitCode: 137, killedFor: 'timeout', timeoutMs: 600_000, memoryBytes: 1 << 30, verdict: hit, durationMs: 1 }).reason).toBe(
      'killed: timeout after 600 s',
    );
    expect(describeRunResult({ exitCode: 137, killedFor: 'cancelled', verdict: hit, durationMs: 1 }).reason).toBe('cancelled');
  });

  it('names the pids limit and start failures', () => {
    expect(describeRunResult({ exitCode: 2, pidsLimit: 64, verdict: { oomKilled: false, pidsLimitHit: true }, durationMs: 1 })).toMatchObject({
      pidsLimitHit: true, reason: 'pids limit reached (64 processes); exit code 2',
    });
    expect(describeRunResult({ exitCode: 1, startError: 'exec: "nope": executable file not found in $PATH', verdict: calm, durationMs: 1 }).reason).toBe(
      'cannot start: exec: "nope": executable file not found in $PATH',
    );
  });

  it('formats sizes', () => {
    expect(formatBytes(512 * 1024 * 1024)).toBe('512 MiB');
    expect(formatBytes(2 * 1024 * 1024 * 1024)).toBe('2 GiB');
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.5 MiB');
  });
});
