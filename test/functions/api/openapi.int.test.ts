// The OpenAPI document is generated from the route schemas; check its structure the way a validator
// would: 3.1, every path has operations with responses, every $ref resolves, path parameters match.
import { afterAll, describe, expect, it } from 'vitest';
import { openTestApp } from './test-client';

const t = openTestApp();
afterAll(() => t.sql.end());

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe('GET /api/v1/openapi.json', () => {
  it('is a structurally valid OpenAPI 3.1 document covering every resource', async () => {
    const doc = await (await t.call(undefined, 'GET', '/api/v1/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    const paths = Object.keys(doc.paths);
    for (const p of ['/apps', '/apps/{app}', '/apps/{app}/config', '/apps/{app}/secrets', '/apps/{app}/builds', '/builds/{id}', '/builds/{id}/logs', '/builds/{id}/cancel', '/images', '/images/{namespace}/{name}/tags', '/apps/{app}/deployments', '/apps/{app}/rollback', '/containers', '/containers/{id}', '/containers/{id}/exec', '/containers/{id}/logs', '/runners', '/runners/{id}/drain', '/account/tokens']) {
      expect(paths, p).toContain(p);
    }
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries<Record<string, { responses?: Record<string, unknown>; parameters?: { name: string; in: string }[]; operationId?: string }>>(doc.paths)) {
      expect(path.startsWith('/'), path).toBe(true);
      const ops = Object.entries(item).filter(([m]) => METHODS.includes(m));
      expect(ops.length, path).toBeGreaterThan(0);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of ops) {
        expect(Object.keys(op.responses ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const code of Object.keys(op.responses!)) expect(code, `${method} ${path}`).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
        const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(pathParams.sort(), `${method} ${path} path parameters`).toEqual([...templated].sort());
        expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z]+[A-Za-z0-9]+$/);
        expect(operationIds.has(op.operationId!), op.operationId).toBe(false);
        operationIds.add(op.operationId!);
      }
    }
    for (const ref of refsIn(doc)) {
      const m = /^#\/components\/(schemas|securitySchemes|parameters|responses)\/(.+)$/.exec(ref);
      expect(m, ref).toBeTruthy();
      expect(doc.components[m![1]!][m![2]!], ref).toBeDefined();
    }
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/apps/{app}/builds'].post.operationId).toBe('postAppsByAppBuilds');
  });

  it('renders a readable reference page from the document, with no outside assets', async () => {
    const html = await (await t.call(undefined, 'GET', '/api/v1/docs')).text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('/apps/{app}/builds');
    expect(html).toContain('Start a build');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:/);
  });
});
