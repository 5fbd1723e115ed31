import { describe, expect, it } from 'vitest';
import { PktReader, concatBytes, encodePktLine, encodeSideband } from '../../../functions/git/pkt-line';
import { checkRefName, checkPushRefName } from '../../../functions/git/ref-name';
import { parseReceiveRequest } from '../../../functions/git/receive-commands';

const text = (s: string) => new TextEncoder().encode(s);

describe('pkt-lines', () => {
  it('frames and reads lines, flush and delimiter, leaving the rest for the pack', () => {
    const buf = concatBytes([encodePktLine('a\n'), text('0001'), encodePktLine('b'), text('0000PACK')]);
    const r = new PktReader(buf);
    expect(r.readSection()).toEqual({ lines: ['a'], end: 'delim' });
    expect(r.readSection()).toEqual({ lines: ['b'], end: 'flush' });
    expect(new TextDecoder().decode(buf.subarray(r.offset))).toBe('PACK');
    expect(new TextDecoder().decode(encodePktLine('a\n'))).toBe('0006a\n');
  });

  it('refuses bad lengths and lines cut short', () => {
    expect(() => new PktReader(text('zzzz')).next()).toThrow('"zzzz" is not a hexadecimal length');
    expect(() => new PktReader(text('0003')).next()).toThrow('length 3 is invalid');
    expect(() => new PktReader(text('0010abc')).next()).toThrow('ends inside a line');
  });

  it('splits sideband payloads to fit a pkt-line', () => {
    const parts = encodeSideband(1, new Uint8Array(70_000));
    expect(parts.length).toBe(2);
    expect(parts[0]!.length).toBe(65520);
    expect(parts[0]![4]).toBe(1);
  });
});

describe('ref names', () => {
  it('accepts ordinary names and refuses what git check-ref-format refuses', () => {
    expect(checkRefName('refs/heads/feature/x-1')).toBeUndefined();
    for (const bad of ['refs/heads/a..b', 'refs/heads/a b', 'refs/heads/a\x7f', 'refs/heads/a~1', 'refs/heads/a^', 'refs/heads/a:b', 'refs/heads/x.lock', 'refs/heads/.hidden', 'refs/heads/a@{1}', 'refs/heads/a/', 'refs/heads//a', 'refs/heads/a.', 'HEAD', 'refs/x'])
      expect(checkRefName(bad), bad).toBeDefined();
    expect(checkPushRefName('refs/notes/commits')).toContain('only refs/heads/ and refs/tags/');
  });
});

describe('receive-pack requests', () => {
  it('reads commands, capabilities, push options and the pack', () => {
    const z = '0'.repeat(40);
    const a = 'a'.repeat(40);
    const body = concatBytes([
      encodePktLine(`${z} ${a} refs/heads/main\0report-status side-band-64k push-options agent=git/2\n`),
      encodePktLine(`${a} ${z} refs/heads/old\n`),
      text('0000'),
      encodePktLine('ci.skip\n'),
      text('0000PACKDATA'),
    ]);
    const req = parseReceiveRequest(body);
    expect(req.commands).toEqual([
      { oldSha: z, newSha: a, ref: 'refs/heads/main' },
      { oldSha: a, newSha: z, ref: 'refs/heads/old' },
    ]);
    expect([...req.capabilities]).toContain('side-band-64k');
    expect(req.pushOptions).toEqual(['ci.skip']);
    expect(new TextDecoder().decode(req.pack)).toBe('PACKDATA');
    expect(() => parseReceiveRequest(concatBytes([encodePktLine('nonsense\n'), text('0000')]))).toThrow('is not "<old-id> <new-id> <ref>"');
  });
});
