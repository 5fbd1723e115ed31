import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { entryHeader, fileKind, padding, parentDirectories, parseRelativePath, TAR_END } from '../../../functions/api/folder-tar';
import { concat } from '../../../functions/api/multipart';
import { sniffContextType } from '../../../functions/api/build-upload';

describe('folder tar', () => {
  it('writes entries a standard tar reader reads back, long and non-ASCII paths included', async () => {
    const files: [string, string][] = [
      ['Dockerfile', 'FROM scratch\n'],
      [`a/${'x'.repeat(150)}.txt`, 'long'],
      ['ü/naïve.txt', 'utf8'],
    ];
    const parts: Uint8Array[] = [];
    const dirs = new Set<string>();
    for (const [path, text] of files) {
      for (const d of parentDirectories(path, dirs)) parts.push(entryHeader(d, 0, 'directory'));
      const bytes = new TextEncoder().encode(text);
      parts.push(entryHeader(path, bytes.length, 'file'), bytes, padding(bytes.length));
    }
    parts.push(TAR_END);
    const tar = concat(parts);
    expect(sniffContextType(tar.subarray(0, 512))).toBe('application/x-tar');
    const seen: Record<string, string> = {};
    const ex = extract();
    ex.on('entry', (h, s, next) => {
      let body = '';
      s.on('data', (c: unknown) => (body += String(c)));
      s.on('end', () => {
        seen[`${h.type}:${h.name}`] = body;
        next();
      });
    });
    const done = new Promise<void>((r) => ex.on('finish', () => r()));
    Readable.from(Buffer.from(tar)).pipe(ex);
    await done;
    expect(seen).toEqual({
      'file:Dockerfile': 'FROM scratch\n',
      'directory:a/': '',
      [`file:a/${'x'.repeat(150)}.txt`]: 'long',
      'directory:ü/': '',
      'file:ü/naïve.txt': 'utf8',
    });
  });

  it.each(['/etc/passwd', '../x', 'a/../b', 'a//b', 'a\\b', '', 'a/./b'])('refuses the path %j', (p) => {
    expect(() => parseRelativePath(p)).toThrow(/Invalid file path/);
  });

  it('makes scripts (#! first) executable and leaves other files 0644', () => {
    const enc = new TextEncoder();
    expect(fileKind(enc.encode('#!/bin/sh\necho hi\n'))).toBe('executable');
    expect(fileKind(enc.encode('echo hi\n'))).toBe('file');
    expect(fileKind(new Uint8Array(0))).toBe('file');
    const mode = (h: Uint8Array) => new TextDecoder().decode(h.subarray(100, 107));
    expect(mode(entryHeader('start.sh', 3, 'executable'))).toBe('0000755');
    expect(mode(entryHeader('a.txt', 3, 'file'))).toBe('0000644');
  });

  it('accepts ./-prefixed relative paths', () => {
    expect(parseRelativePath('./src/a.js')).toBe('src/a.js');
  });
});
