import { describe, expect, it } from 'vitest';
import { buildOverlayMountArgv, buildUnmountArgv, describeOverlay } from '../../../runner/sandbox/overlay';

describe('overlay argv', () => {
  const layout = describeOverlay('/h/sandbox/rootfs/berth-a1');

  it('lists short numbered links, top layer first, relative to the links dir', () => {
    expect(buildOverlayMountArgv(layout, 3)).toEqual({
      argv: [
        'mount', '-t', 'overlay', 'overlay', '-o',
        'lowerdir=2:1:0,upperdir=/h/sandbox/rootfs/berth-a1/upper,workdir=/h/sandbox/rootfs/berth-a1/work,index=off',
        '/h/sandbox/rootfs/berth-a1/merged',
      ],
      cwd: '/h/sandbox/rootfs/berth-a1/l',
    });
  });

  it('stays far below the one-page option limit at 120 layers', () => {
    const { argv } = buildOverlayMountArgv(layout, 120);
    expect(argv[5]!.length).toBeLessThan(600);
    expect(argv[5]!.startsWith('lowerdir=119:118:')).toBe(true);
  });

  it('needs a lower dir and unmounts lazily only when asked', () => {
    expect(() => buildOverlayMountArgv(layout, 0)).toThrow('at least one lower dir');
    expect(buildUnmountArgv('/m', false)).toEqual(['umount', '/m']);
    expect(buildUnmountArgv('/m', true)).toEqual(['umount', '-l', '/m']);
  });
});
