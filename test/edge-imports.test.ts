// Edge code (functions/ and db/, except *.node.ts) must run on Workers: no Node built-ins.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'migrations' ? [] : sourceFiles(p);
    return /\.(ts|tsx)$/.test(name) && !/\.node\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

export function nodeImports(source: string): string[] {
  const specifiers = [...source.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? '',
  );
  return specifiers.filter((s) => s.startsWith('node:') || builtins.has(s.split('/')[0]!));
}

describe('edge code', () => {
  const files = [...sourceFiles(join(root, 'functions')), ...sourceFiles(join(root, 'db'))];

  it('has files to check', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it('imports no Node built-in', () => {
    const offenders = files.flatMap((f) => nodeImports(readFileSync(f, 'utf8')).map((i) => `${relative(root, f)} imports ${i}`));
    expect(offenders).toEqual([]);
  });

  it('the detector sees the forms an import can take', () => {
    expect(nodeImports(`import { x } from 'node:fs';\nimport y from "path";\nconst z = await import('crypto');\nimport 'os';`)).toEqual([
      'node:fs',
      'path',
      'crypto',
      'os',
    ]);
    expect(nodeImports(`import { Hono } from 'hono';`)).toEqual([]);
  });
});
