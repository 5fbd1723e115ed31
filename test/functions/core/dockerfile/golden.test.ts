// Golden cases: cases/<name>/Dockerfile parsed, compared with cases/<name>/expected.json, which is
// either { "dockerfile": <parseDockerfile output> } or { "error": { "line", "message" } }.
// UPDATE_GOLDEN=1 rewrites expected.json from the parser: review the diff before committing it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../../functions/core/dockerfile/errors';
import { parseDockerfile } from '../../../../functions/core/dockerfile/parse';

const dir = join(import.meta.dirname, 'cases');
const names = readdirSync(dir).sort();

export function goldenResult(text: string): unknown {
  try {
    return { dockerfile: JSON.parse(JSON.stringify(parseDockerfile(text))) };
  } catch (err) {
    if (err instanceof DockerfileError) return { error: { line: err.line, message: err.message } };
    throw err;
  }
}

describe('golden Dockerfiles', () => {
  it('has cases, each with an expected result', () => {
    expect(names.length).toBeGreaterThan(30);
    if (process.env.UPDATE_GOLDEN) return;
    for (const name of names) expect(existsSync(join(dir, name, 'expected.json')), name).toBe(true);
  });

  it.each(names)('%s', (name) => {
    const text = readFileSync(join(dir, name, 'Dockerfile'), 'utf8');
    const actual = goldenResult(text);
    const file = join(dir, name, 'expected.json');
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
    expect(actual).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });
});
