// USER and --chown resolved from the image's own passwd and group files, the way BuildKit does.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveChown, resolveUser } from '../../../runner/build/users';

const rootfs = mkdtempSync(join(tmpdir(), 'berth-users-test-'));
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));
mkdirSync(join(rootfs, 'etc'));
writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nnode:x:1001:0::/home/node:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n');
writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nstaff:x:50:app\napp:x:1234:\n');

describe('resolveChown', () => {
  it('gives a lone user name its primary group, a lone id the same id as group, an explicit group precedence', async () => {
    expect(await resolveChown(rootfs, 'node')).toEqual({ uid: 1001, gid: 0 });
    expect(await resolveChown(rootfs, '1001')).toEqual({ uid: 1001, gid: 1001 });
    expect(await resolveChown(rootfs, '70000')).toEqual({ uid: 70000, gid: 70000 });
    expect(await resolveChown(rootfs, 'node:staff')).toEqual({ uid: 1001, gid: 50 });
    expect(await resolveChown(rootfs, 'app:7')).toEqual({ uid: 1234, gid: 7 });
    await expect(resolveChown(rootfs, 'nobody-here')).rejects.toThrow('Cannot resolve user "nobody-here"');
  });
});

describe('resolveUser', () => {
  it('takes the passwd entry for names and known ids, group 0 and HOME / for unknown ids', async () => {
    expect(await resolveUser(rootfs, 'app')).toEqual({ uid: 1234, gid: 1234, additionalGids: [50], home: '/home/app' });
    expect(await resolveUser(rootfs, '4242')).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
    expect(await resolveUser(rootfs, undefined)).toMatchObject({ uid: 0, gid: 0, home: '/root' });
  });
});
