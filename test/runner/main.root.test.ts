// A runner that restarts removes what its previous process left of the builds it was running, and
// leaves alone the containers it will adopt (those with a state dir under its home) and everything
// outside its home.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersDir } from '../../runner/container/container-files';
import { cleanRunnerHome } from '../../runner/main';
import { cleanupOrphans } from '../../runner/sandbox/cleanup';
import { DEFAULT_RUNC, readContainerState } from '../../runner/sandbox/runc';
import { createSandboxFixture, findLeftovers, startDetachedSandbox, type SandboxFixture } from '../support/sandbox';

let fx: SandboxFixture;
let other: SandboxFixture;

beforeAll(async () => {
  fx = await createSandboxFixture();
  other = await createSandboxFixture();
}, 600_000);

afterAll(async () => {
  for (const f of [fx, other]) {
    if (!f) continue;
    await cleanupOrphans({ home: f.home, runc: DEFAULT_RUNC, networkSettings: f.networkSettings, keep: new Set() });
    f.remove();
  }
});

describe('cleanRunnerHome', () => {
  it("removes a dead process's build sandboxes, keeps its containers and other homes' sandboxes", async () => {
    const build = await startDetachedSandbox(fx);
    const container = await startDetachedSandbox(fx);
    mkdirSync(join(containersDir(fx.home), container), { recursive: true });
    const elsewhere = await startDetachedSandbox(other);
    const logged: string[] = [];

    const report = await cleanRunnerHome({ home: fx.home, networkSettings: fx.networkSettings }, (m) => logged.push(m));

    expect(report.errors).toEqual([]);
    expect(report.containers).toEqual([build]);
    expect(findLeftovers(fx, build)).toEqual([]);
    expect(logged.join('\n')).toContain(build);
    expect((await readContainerState(DEFAULT_RUNC, container))?.status).toBe('running');
    expect((await readContainerState(DEFAULT_RUNC, elsewhere))?.status).toBe('running');
    expect(findLeftovers(other, elsewhere).length).toBeGreaterThan(5);

    // Nothing left to do: a second start finds nothing and says nothing.
    logged.length = 0;
    const again = await cleanRunnerHome({ home: fx.home, networkSettings: fx.networkSettings }, (m) => logged.push(m));
    expect([again.containers, again.bundles, logged]).toEqual([[], [], []]);
  });
});
