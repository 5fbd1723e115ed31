import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainerPlan } from '../../../runner/container/config';
import { runcIdFor, type ContainerMeta } from '../../../runner/container/container-files';
import { Supervisor } from '../../../runner/container/supervisor';
import { teardownContainer } from '../../../runner/container/teardown';
import { DEFAULT_RUNC } from '../../../runner/sandbox/runc';
import { countLeftovers, createContainerFixture, recordEvents, supervisorDefaults, type ContainerFixture } from '../../support/containers';
import { ensureNginxRootfs } from '../../support/nginx-rootfs';

let fx: ContainerFixture;
let lower: string;
const ids: string[] = [];

beforeAll(async () => {
  lower = await ensureNginxRootfs();
  fx = createContainerFixture();
}, 400_000);
afterAll(async () => {
  for (const id of ids) await teardownContainer({ home: fx.home, runc: DEFAULT_RUNC, networkSettings: fx.networkSettings }, id);
  fx?.remove();
});

function getHttps(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a Debian nginx image', () => {
  it('serves on two published ports at once on 127.0.0.1, IPv6 listen included', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const key = randomBytes(32).toString('hex');
    ids.push(runcIdFor(key));
    const meta: ContainerMeta = {
      key,
      runcId: runcIdFor(key),
      lowerDirs: [lower],
      plan: buildContainerPlan({ Cmd: ['nginx', '-g', 'daemon off;'], ExposedPorts: { '80/tcp': {}, '443/tcp': {} }, StopSignal: 'SIGQUIT' }, {}, {}, 'web'),
      ports: [
        { hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: 0, containerPort: 443, protocol: 'tcp' },
      ],
      resources: { memoryBytes: 256 * 1024 * 1024, pidsLimit: 128 },
      restartPolicy: 'no',
      autoRemove: false,
      stopGraceMs: 5000,
      restartCount: 0,
    };
    const running = await sup.start(meta);
    const [http, https] = running.ports;
    expect(http!.hostPort).toBeGreaterThan(0);
    expect(https!.hostPort).toBeGreaterThan(0);
    let body = '';
    for (let i = 0; i < 100; i++) {
      body = await fetch(`http://127.0.0.1:${http!.hostPort}/`).then((r) => r.text()).catch(() => '');
      if (body) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(body).toBe('hello from berth on 80\n');
    expect(await getHttps(https!.hostPort)).toBe('hello from berth on 443\n');
    await sup.stop(key);
    const exited = await ev.waitFor((e) => e.type === 'exited' && e.key === key);
    expect(exited.type === 'exited' && [exited.info.exitCode, exited.info.stoppedByRequest]).toEqual([0, true]);
    await sup.remove(key);
    expect(countLeftovers([meta.runcId])).toEqual([]);
  });
});
