import { describe, expect, it } from 'vitest';
import { parseKillSignal } from '../../../functions/docker/container-ops';

describe('parseKillSignal', () => {
  it('takes names with or without SIG, numbers and real-time signals', () => {
    expect(parseKillSignal(undefined)).toBe('SIGKILL');
    expect(parseKillSignal('hup')).toBe('SIGHUP');
    expect(parseKillSignal('SIGUSR2')).toBe('SIGUSR2');
    expect(parseKillSignal('15')).toBe('SIGTERM');
    expect(parseKillSignal('31')).toBe('SIGSYS');
    expect(parseKillSignal('RTMIN+3')).toBe('37');
    expect(parseKillSignal('RTMAX')).toBe('64');
  });

  it('refuses anything else, naming it', () => {
    for (const bad of ['NOPE', '0', '32', '65', 'RTMIN+40', 'SIG', '-9']) expect(() => parseKillSignal(bad)).toThrow(`Invalid signal: ${bad}`);
  });
});
