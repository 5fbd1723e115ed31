import { and, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { deployBuildIfRequested } from '../../../db/queries/deployments';
import { appendLogLines } from '../../../db/queries/logs';
import { ensureRepository } from '../../../db/queries/registry';
import { builds, containers, deployments, jobs, repositories } from '../../../db/schema';
import { openTestApp } from './test-client';

const t = openTestApp();
afterAll(() => t.sql.end());

describe('containers', () => {
  it('records a one-off run and queues a run job with { containerId }', async () => {
    const u = await t.signUp();
    const res = await t.call(u.token, 'POST', '/api/v1/containers', {
      image: 'nginx',
      command: ['nginx', '-g', 'daemon off;'],
      env: { A: '1' },
      ports: [{ containerPort: 80, hostPort: 8081 }, { containerPort: 443 }],
      removeOnExit: true,
    });
    expect(res.status).toBe(201);
    const c = await res.json();
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    expect(c).toMatchObject({ image: 'docker.io/library/nginx:latest', status: 'created', removeOnExit: true, command: ['nginx', '-g', 'daemon off;'] });
    expect(c.ports).toEqual([
      { hostIp: '0.0.0.0', hostPort: 8081, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: null, containerPort: 443, protocol: 'tcp' },
    ]);
    const [job] = await t.db.select().from(jobs).where(and(eq(jobs.subjectId, c.id), eq(jobs.kind, 'run')));
    expect(job!.payload).toEqual({ containerId: c.id });
  });

  it('stops a container that never started by cancelling its run; refuses a second stop', async () => {
    const u = await t.signUp();
    const c = await (await t.call(u.token, 'POST', '/api/v1/containers', { image: 'debian:bookworm', name: `c-${t.suffix()}` })).json();
    const stop = await t.call(u.token, 'POST', `/api/v1/containers/${c.name}/stop`);
    expect(stop.status).toBe(202);
    expect((await stop.json()).status).toBe('exited');
    const [job] = await t.db.select().from(jobs).where(and(eq(jobs.subjectId, c.id), eq(jobs.kind, 'run')));
    expect(job!.status).toBe('cancelled');
    expect((await t.call(u.token, 'POST', `/api/v1/containers/${c.id}/stop`)).status).toBe(409);
    expect((await t.call(u.token, 'GET', '/api/v1/containers')).status).toBe(200);
    const all = await (await t.call(u.token, 'GET', '/api/v1/containers?all=true')).json();
    expect(all.items.map((x: { id: string }) => x.id)).toContain(c.id);
    expect((await t.call(u.token, 'DELETE', `/api/v1/containers/${c.id}`)).status).toBe(204);
    expect((await t.call(u.token, 'GET', `/api/v1/containers/${c.id}`)).status).toBe(404);
    // The name is free again.
    expect((await t.call(u.token, 'POST', '/api/v1/containers', { image: 'debian', name: c.name })).status).toBe(201);
  });

  it('sends stop, kill and exec to the runner a running container is on', async () => {
    const u = await t.signUp();
    const c = await (await t.call(u.token, 'POST', '/api/v1/containers', { image: 'debian' })).json();
    expect((await t.call(u.token, 'POST', `/api/v1/containers/${c.id}/exec`, { command: ['ls'] })).status).toBe(409);
    // As the runner that placed it would record:
    await t.db.update(containers).set({ status: 'running', runnerId: 'runner-test' }).where(eq(containers.id, c.id));
    const ex = await t.call(u.token, 'POST', `/api/v1/containers/${c.id}/exec`, { command: ['ls', '-l'], workdir: '/tmp' });
    expect(ex.status).toBe(202);
    const exec = await ex.json();
    const got = await (await t.call(u.token, 'GET', `/api/v1/containers/${c.id}/exec/${exec.id}`)).json();
    expect(got).toMatchObject({ status: 'queued', exitCode: null });
    expect((await t.call(u.token, 'DELETE', `/api/v1/containers/${c.id}`)).status).toBe(409);
    expect((await t.call(u.token, 'POST', `/api/v1/containers/${c.id}/kill`)).status).toBe(202);
    const rows = await t.db.select().from(jobs).where(eq(jobs.subjectId, c.id));
    const byKind = Object.fromEntries(rows.map((r) => [r.kind, r]));
    expect(byKind.exec).toMatchObject({ runnerId: 'runner-test', payload: { containerId: c.id, command: ['ls', '-l'], workdir: '/tmp' } });
    expect(byKind.stop).toMatchObject({ runnerId: 'runner-test', payload: { containerId: c.id, signal: 'SIGKILL', graceSeconds: 0 } });
  });

  it('explains invalid runs', async () => {
    const u = await t.signUp();
    const res = await t.call(u.token, 'POST', '/api/v1/containers', { image: 'Not A Ref!', ports: [{ containerPort: 70000 }] });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain('ports.0.containerPort: must be 1 to 65535');
    const ref = await t.call(u.token, 'POST', '/api/v1/containers', { image: 'Not A Ref!' });
    expect((await ref.json()).error).toMatchObject({ code: 'invalid_image_reference', message: expect.stringContaining('"Not A Ref!"') });
  });
});

describe('deployments', () => {
  it('deploys an image, refuses an unfinished build, and rolls back to the previous live deployment', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const d1 = await (await t.call(u.token, 'POST', `/api/v1/apps/${app}/deployments`, { image: 'nginx:1.27' })).json();
    expect(d1).toMatchObject({ number: 1, status: 'pending', imageRef: 'docker.io/library/nginx:1.27' });
    const [job] = await t.db.select().from(jobs).where(eq(jobs.subjectId, d1.id));
    expect(job).toMatchObject({ kind: 'deploy', payload: { deploymentId: d1.id } });
    const b = await (await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, { dockerfile: 'FROM scratch\n' })).json();
    const early = await t.call(u.token, 'POST', `/api/v1/apps/${app}/deployments`, { buildId: b.id });
    expect(early.status).toBe(409);
    expect((await t.call(u.token, 'POST', `/api/v1/apps/${app}/deployments`, { buildId: b.id, image: 'x' })).status).toBe(400);
    expect((await t.call(u.token, 'POST', `/api/v1/apps/${app}/rollback`, {})).status).toBe(409);
    // The runner's part: d1 went live, then d2 replaced it.
    await t.db.update(deployments).set({ status: 'superseded' }).where(eq(deployments.id, d1.id));
    const d2 = await (await t.call(u.token, 'POST', `/api/v1/apps/${app}/deployments`, { image: 'nginx:1.28' })).json();
    expect(d2.number).toBe(2);
    const rb = await t.call(u.token, 'POST', `/api/v1/apps/${app}/rollback`, {});
    expect(rb.status).toBe(201);
    expect(await rb.json()).toMatchObject({ number: 3, imageRef: 'docker.io/library/nginx:1.27' });
    const list = await (await t.call(u.token, 'GET', `/api/v1/apps/${app}/deployments?limit=2`)).json();
    expect(list.items.map((d: { number: number }) => d.number)).toEqual([3, 2]);
    expect(list.nextCursor).toBeTruthy();
  });
});

describe('deleting an app', () => {
  it('stops and removes its containers: cancels runs not yet placed, sends stop { remove } to runners', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const queued = await (await t.call(u.token, 'POST', '/api/v1/containers', { image: 'debian', app })).json();
    const placed = await (await t.call(u.token, 'POST', '/api/v1/containers', { image: 'debian', app })).json();
    await t.db.update(containers).set({ status: 'running', runnerId: 'runner-del' }).where(eq(containers.id, placed.id));
    expect((await t.call(u.token, 'DELETE', `/api/v1/apps/${app}`)).status).toBe(204);
    const [q] = await t.db.select().from(containers).where(eq(containers.id, queued.id));
    expect(q!.status).toBe('removed');
    const stops = await t.db.select().from(jobs).where(and(eq(jobs.subjectId, placed.id), eq(jobs.kind, 'stop')));
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ runnerId: 'runner-del', payload: { containerId: placed.id, signal: 'SIGTERM', remove: true } });
  });
});

describe('image visibility', () => {
  it('makes the app’s repository public or private with the app’s configuration', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const repo = await ensureRepository(t.db, u.id, `${u.name}/${app}`);
    expect((await t.call(u.token, 'PATCH', `/api/v1/apps/${app}/config`, { imageVisibility: 'public' })).status).toBe(200);
    expect((await t.db.select().from(repositories).where(eq(repositories.id, repo.id)))[0]!.public).toBe(true);
    expect((await t.call(u.token, 'PATCH', `/api/v1/apps/${app}/config`, { imageVisibility: 'private' })).status).toBe(200);
    expect((await t.db.select().from(repositories).where(eq(repositories.id, repo.id)))[0]!.public).toBe(false);
  });
});

describe('deploy on success', () => {
  it('deploys a succeeded build that asked for it, once; not one that did not ask', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const asked = await (await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, { dockerfile: 'FROM scratch\n', deploy: true })).json();
    const quiet = await (await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, { dockerfile: 'FROM scratch\n' })).json();
    expect(await deployBuildIfRequested(t.db, asked.id)).toBeUndefined(); // still queued
    for (const id of [asked.id, quiet.id]) await t.db.update(builds).set({ status: 'succeeded', imageRef: `x/${app}@sha256:${'d'.repeat(64)}`, manifestDigest: `sha256:${'d'.repeat(64)}` }).where(eq(builds.id, id));
    const d = await deployBuildIfRequested(t.db, asked.id);
    expect(d).toMatchObject({ buildId: asked.id, number: 1, status: 'pending' });
    expect(await deployBuildIfRequested(t.db, asked.id)).toBeUndefined();
    expect(await deployBuildIfRequested(t.db, quiet.id)).toBeUndefined();
    const list = await (await t.call(u.token, 'GET', `/api/v1/apps/${app}/deployments`)).json();
    expect(list.items).toHaveLength(1);
  });
});

describe('container logs', () => {
  it('follows a container’s output until it exits, then sends its exit code', async () => {
    const u = await t.signUp();
    const c = await (await t.call(u.token, 'POST', '/api/v1/containers', { image: 'debian', command: ['echo', 'hi'] })).json();
    await t.db.update(containers).set({ status: 'running', runnerId: 'runner-logs' }).where(eq(containers.id, c.id));
    const res = await t.call(u.token, 'GET', `/api/v1/containers/${c.id}/logs?follow=true`);
    const reader = res.body!.getReader();
    let seen = '';
    const until = async (needle: string) => {
      while (!seen.includes(needle)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`ended before ${needle}: ${seen}`);
        seen += new TextDecoder().decode(value);
      }
    };
    await appendLogLines(t.db, { kind: 'container', id: c.id }, [{ line: 'hi' }, { stream: 'stderr', line: 'warning: x' }]);
    await until('warning: x');
    await t.db.update(containers).set({ status: 'exited', exitCode: 3, exitReason: 'exited with code 3' }).where(eq(containers.id, c.id));
    await until('"exitReason":"exited with code 3"}\n\n');
    expect(seen).toMatch(/event: end\ndata: \{"status":"exited","exitCode":3/);
    expect(seen).toContain('"stream":"stderr","line":"warning: x"');
    expect(await (await t.call(u.token, 'GET', `/api/v1/containers/${c.id}/logs`)).text()).toBe('hi\nwarning: x\n');
  });
});
