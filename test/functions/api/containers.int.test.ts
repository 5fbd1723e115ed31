import { and, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { containers, deployments, jobs } from '../../../db/schema';
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
