import { describe, expect, it } from 'vitest';
import { buildPrepareArgv, describeNamespacePins, PREPARE_SCRIPT } from '../../../runner/sandbox/namespaces';

describe('namespace preparation argv', () => {
  it('passes paths and maps as arguments, never inside the script', () => {
    const pins = describeNamespacePins('berth-abc');
    expect(pins).toEqual({ user: '/run/berth/userns/berth-abc', net: '/run/netns/berth-abc' });
    expect(buildPrepareArgv(pins, { hostBase: 100000, size: 65536 }, 'x64')).toEqual([
      'perl', '-e', PREPARE_SCRIPT, '272', '165', '/run/berth/userns/berth-abc', '/run/netns/berth-abc', '0 100000 65536\n', '0 100000 65536\n',
    ]);
    expect(buildPrepareArgv(pins, { hostBase: 200000, size: 1000 }, 'arm64').slice(3)).toEqual(['97', '40', pins.user, pins.net, '0 200000 1000\n', '0 200000 1000\n']);
    expect(PREPARE_SCRIPT).not.toContain('berth-abc');
  });

  it('refuses an architecture whose syscall numbers it does not know', () => {
    expect(() => buildPrepareArgv(describeNamespacePins('berth-abc'), { hostBase: 100000, size: 65536 }, 'ia32')).toThrow('Cannot prepare namespaces on architecture "ia32"');
  });
});
