import { randomBytes, createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
const ex = promisify(execFile);
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateDatabase } from '../../db/migrate.node.ts';
import { ensureAdminToken } from '../../infra/admin';
import { freePort, startServices } from '../../infra/services';
import { startFunctions } from '../../functions/server.node.ts';
const home = mkdtempSync(join(tmpdir(), 'prof-')); chmodSync(home, 0o755);
const services = await startServices({ home, env: { S3_BUCKET: 'bench', BERTH_PG_FSYNC: 'off' }, pgPort: await freePort(), s3Port: await freePort() });
await migrateDatabase(services.env.DATABASE_URL!);
const token = await ensureAdminToken(services.env.DATABASE_URL!, home);
const port = await freePort();
const f = startFunctions(services.env, port);
await new Promise(r => setTimeout(r, 500));
const auth = 'Basic ' + btoa('admin:' + token);
for (let i = 0; i < 3; i++) {
  const data = randomBytes(50 << 20);
  const t0 = performance.now();
  const s = await fetch(`http://127.0.0.1:${port}/v2/admin/p/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
  const loc = s.headers.get('location')!;
  const p = await fetch(`http://127.0.0.1:${port}${loc}`, { method: 'PATCH', body: data, headers: { authorization: auth } });
  const t1 = performance.now();
  const d = 'sha256:' + createHash('sha256').update(data).digest('hex');
  const put = await fetch(`http://127.0.0.1:${port}${loc}?digest=${d}`, { method: 'PUT', headers: { authorization: auth } });
  const t2 = performance.now();
  console.log(p.status, put.status, 'patch', (t1 - t0).toFixed(0), 'put', (t2 - t1).toFixed(0));
  for (let k = 0; k < 4; k++) {
  const g0 = performance.now();
  const g = await fetch(`http://127.0.0.1:${port}/v2/admin/p/blobs/${d}`, { headers: { authorization: auth } });
  await g.arrayBuffer();
  const g1 = performance.now();
  const c = (await ex('curl', ['-s', '-o', '/dev/null', '-w', '%{time_total}', '-H', `authorization: ${auth}`, `http://127.0.0.1:${port}/v2/admin/p/blobs/${d}`])).stdout;
  console.log('get', (g1 - g0).toFixed(0), 'curl', c);
  }
}
await f.close(); await services.stop(); rmSync(home, { recursive: true, force: true });
