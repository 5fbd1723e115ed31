// The web form end to end in Debian's Chromium: sign in, upload a folder through /new, watch the log
// arrive live, and end with the image reference and the app's address.
//
// No Builder runs in this test, so the test plays the runner's part through the runner's own write
// paths: it appends log lines with db/queries/logs.ts (what a building runner calls) and, at the
// end, marks the build succeeded and its deployment active with SQL (what the runner's completion
// does). Everything between the browser and Postgres/S3 is the real thing.
import { serve, type ServerType } from '@hono/node-server';
import { and, eq } from 'drizzle-orm';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { gzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendLogLines } from '../../../db/queries/logs';
import { apps, builds, containers, deployments } from '../../../db/schema';
import { newHexId } from '../../../functions/core/ids';
import { createApp } from '../../../functions/app';
import { openTestApp } from '../api/test-client';

const CHROMIUM = '/usr/bin/chromium';
const t = openTestApp();
let server: ServerType;
let base: string;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Cannot run the browser test: ${CHROMIUM} is missing; apt-get install -y chromium`);
  server = serve({ fetch: (req) => app.fetch(req), port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  dir = mkdtempSync(join(tmpdir(), 'berth-form-'));
  mkdirSync(join(dir, 'site', 'src'), { recursive: true });
  writeFileSync(join(dir, 'site', 'Dockerfile'), 'FROM debian:bookworm AS build\nCOPY src /src\nFROM debian:bookworm\nCOPY --from=build /src /srv\n');
  writeFileSync(join(dir, 'site', 'src', 'index.html'), '<h1>hello</h1>\n');
  writeFileSync(join(dir, 'Dockerfile'), 'FROM debian:bookworm\nCOPY . /srv\n');
  writeFileSync(join(dir, 'context.tar.gz'), gzipSync(new Uint8Array(1024)));
});

// The app is built once the server's address is known: its public URL is the test server.
const app = { fetch: (req: Request) => createApp(() => ({ ...t.platform, publicUrl: base })).fetch(req) };

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
  await t.sql.end();
});

describe('/new in Chromium', () => {
  it('signs in, uploads a folder, follows the live log and shows the image and address', async () => {
    const u = await t.signUp('browser');
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${base}/new`);
    expect(page.url()).toBe(`${base}/signin?next=/new`);
    await page.fill('#name', u.name);
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/new`);

    const appName = `form-${t.suffix()}`;
    await page.fill('#newApp', appName);
    await page.setInputFiles('#folder', join(dir, 'site'));
    await page.click('#new-build button[type=submit]');
    await page.waitForURL(/\/builds\/bld_/);
    const buildId = page.url().split('/builds/')[1]!;
    await expect.poll(() => page.textContent('[data-build-id]')).toBe(buildId);

    const [build] = await t.db.select().from(builds).where(eq(builds.id, buildId));
    expect(build).toMatchObject({ source: 'form', deployOnSuccess: true, contextMediaType: 'application/x-tar', status: 'queued' });

    // The runner's log writes, while the page follows:
    await appendLogLines(t.db, { kind: 'build', id: buildId }, [{ line: '#1 [build 1/2] FROM debian:bookworm' }]);
    await expect.poll(() => page.textContent('pre.log')).toContain('#1 [build 1/2] FROM debian:bookworm');
    await expect.poll(() => page.textContent('[data-status]')).toBe('running');
    await appendLogLines(t.db, { kind: 'build', id: buildId }, [{ line: '#2 [stage-1 2/2] COPY --from=build /src /srv' }]);
    await expect.poll(() => page.textContent('pre.log')).toContain('#2 [stage-1 2/2] COPY --from=build /src /srv');

    // The runner's completion: the build succeeded, then its deployment went live.
    const host = new URL(base).host;
    const imageRef = `${host}/${u.name}/${appName}@sha256:${'c'.repeat(64)}`;
    await t.db.update(builds).set({ status: 'succeeded', imageRef, manifestDigest: `sha256:${'c'.repeat(64)}`, finishedAt: new Date() }).where(eq(builds.id, buildId));
    await expect.poll(() => page.textContent('[data-status]')).toBe('succeeded');
    await expect.poll(() => page.textContent('[data-image]')).toBe(imageRef);
    const address = `http://${appName}.localhost:${new URL(base).port}`;
    await expect.poll(() => page.textContent('[data-address]')).toBe(address);
    const [appRow] = await t.db.select().from(apps).where(eq(apps.name, appName));
    const res = await t.call(u.token, 'POST', `/api/v1/apps/${appName}/deployments`, { buildId });
    expect(res.status).toBe(201);
    await t.db.update(deployments).set({ status: 'active' }).where(and(eq(deployments.appId, appRow!.id)));
    await expect.poll(() => page.textContent('.result'), { timeout: 10_000 }).toContain('(live)');

    // The dashboard lists the app and the build.
    await page.goto(`${base}/`);
    expect(await page.textContent(`tr[data-app="${appName}"]`)).toContain(address);
    expect(await page.textContent('body')).toContain(buildId);

    // The app's page: its deployment, and the container the runner started with its live output.
    const [dep] = await t.db.select().from(deployments).where(eq(deployments.appId, appRow!.id));
    await t.db.update(apps).set({ currentDeploymentId: dep!.id }).where(eq(apps.id, appRow!.id));
    const [ctr] = await t.db
      .insert(containers)
      .values({ id: newHexId(), accountId: appRow!.accountId, appId: appRow!.id, deploymentId: dep!.id, name: `${appName}-1-1`, imageRef, status: 'running', ports: [{ hostIp: '0.0.0.0', hostPort: 31001, containerPort: 80, protocol: 'tcp' }], startedAt: new Date() })
      .returning();
    await appendLogLines(t.db, { kind: 'container', id: ctr!.id }, [{ line: 'listening on 80' }]);
    await page.click(`a[href="/apps/${appName}"]`);
    expect(await page.textContent('[data-address]')).toBe(address);
    expect(await page.textContent('tr[data-deployment="1"]')).toContain('active');
    expect(await page.textContent(`tr[data-container="${appName}-1-1"]`)).toContain('0.0.0.0:31001->80/tcp');
    await expect.poll(() => page.textContent('#logs pre.log')).toBe('listening on 80'); // one container: no name prefix
    await appendLogLines(t.db, { kind: 'container', id: ctr!.id }, [{ stream: 'stderr', line: 'GET / 200' }]);
    await expect.poll(() => page.textContent('#logs pre.log')).toContain('GET / 200');
    await page.click(`a[href="/containers/${ctr!.id}"]`);
    expect(await page.textContent('h1')).toBe(`${appName}-1-1`);
    await expect.poll(() => page.textContent('#logs pre.log')).toBe('listening on 80\nGET / 200');
    await t.db.update(containers).set({ status: 'removed' }).where(eq(containers.id, ctr!.id));
    await page.close();
  });

  it('uploads a Dockerfile and an archive into an existing app, and shows an API error in the form', async () => {
    const u = await t.signUp('browser');
    const appName = await t.createAppNamed(u.token, 'arch');
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${base}/signin`);
    await page.fill('#name', u.name);
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/`);
    await page.goto(`${base}/new`);
    // An invalid name is refused by the API; the form says why and stays.
    await page.fill('#newApp', 'Bad Name');
    await page.setInputFiles('#dockerfile', join(dir, 'Dockerfile'));
    await page.click('#new-build button[type=submit]');
    await expect.poll(() => page.textContent('#form-error')).toContain('name: must be 1 to 63 characters');
    await page.fill('#newApp', '');
    await page.selectOption('#app', appName);
    await page.setInputFiles('#context', join(dir, 'context.tar.gz'));
    await page.click('#new-build button[type=submit]');
    await page.waitForURL(/\/builds\/bld_/);
    const buildId = page.url().split('/builds/')[1]!;
    const [build] = await t.db.select().from(builds).where(eq(builds.id, buildId));
    expect(build).toMatchObject({ contextMediaType: 'application/gzip', dockerfile: 'FROM debian:bookworm\nCOPY . /srv\n' });
    await appendLogLines(t.db, { kind: 'build', id: buildId }, [{ line: 'STEP 1/2: FROM debian:bookworm' }]);
    await expect.poll(() => page.textContent('pre.log')).toContain('STEP 1/2: FROM debian:bookworm');
    await t.db.update(builds).set({ status: 'failed', error: 'COPY failed: no such file', finishedAt: new Date() }).where(eq(builds.id, buildId));
    await expect.poll(() => page.textContent('[data-status]')).toBe('failed');
    expect(await page.textContent('.result')).toContain('COPY failed: no such file');
    await page.close();
  });
});
