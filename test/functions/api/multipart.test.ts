import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../functions/core/errors';
import { MultipartReader, parseBoundary } from '../../../functions/api/multipart';

const enc = new TextEncoder();

/** Serves the bytes in chunks of the given size, so every boundary split is exercised. */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i >= bytes.length) return c.close();
      c.enqueue(bytes.slice(i, i + size));
      i += size;
    },
  });
}

async function readAll(body: Uint8Array, boundary: string, size: number) {
  const r = new MultipartReader(chunked(body, size), boundary);
  const parts: { name: string; filename?: string; text: string }[] = [];
  for (let p = await r.nextPart(); p; p = await r.nextPart()) parts.push({ name: p.name, filename: p.filename, text: await r.readText(1 << 20, p.name) });
  return parts;
}

describe('MultipartReader', () => {
  it('reads what the platform FormData encoder writes, at every chunk size', async () => {
    const form = new FormData();
    form.append('dockerfile', 'FROM scratch\r\n--not-a-boundary\r\n');
    form.append('files', new Blob(['a\r\n\r\nb']), 'src/a "quoted".txt');
    form.append('empty', new Blob([]), 'empty.bin');
    const req = new Request('http://x/', { method: 'POST', body: form });
    const boundary = parseBoundary(req.headers.get('content-type')!);
    const body = new Uint8Array(await req.arrayBuffer());
    for (const size of [1, 2, 3, 7, 64, 1000, 1 << 20]) {
      expect(await readAll(body, boundary, size), `chunk size ${size}`).toEqual([
        { name: 'dockerfile', filename: undefined, text: 'FROM scratch\r\n--not-a-boundary\r\n' },
        { name: 'files', filename: 'src/a "quoted".txt', text: 'a\r\n\r\nb' },
        { name: 'empty', filename: 'empty.bin', text: '' },
      ]);
    }
  });

  it('skips unread parts when asked for the next one', async () => {
    const body = enc.encode('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nAAAA\r\n--b\r\nContent-Disposition: form-data; name="c"\r\n\r\nC\r\n--b--\r\n');
    const r = new MultipartReader(chunked(body, 3), 'b');
    expect((await r.nextPart())?.name).toBe('a');
    expect((await r.nextPart())?.name).toBe('c');
    expect(await r.readText(10, 'c')).toBe('C');
    expect(await r.nextPart()).toBeUndefined();
  });

  it('refuses a truncated body, a part without a name, and a bad Content-Type, as 400s', async () => {
    const truncated = enc.encode('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nAAAA');
    const r = new MultipartReader(chunked(truncated, 5), 'b');
    await r.nextPart();
    await expect(r.readText(100, 'a')).rejects.toMatchObject({ status: 400, code: 'invalid_multipart' });
    const noName = new MultipartReader(chunked(enc.encode('--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--'), 4), 'b');
    await expect(noName.nextPart()).rejects.toBeInstanceOf(HttpError);
    expect(() => parseBoundary('application/json')).toThrow(/expected multipart\/form-data with a boundary/);
    expect(parseBoundary('multipart/form-data; boundary="a b"')).toBe('a b');
  });

  it('stops a field at its size limit', async () => {
    const body = enc.encode(`--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n${'x'.repeat(100)}\r\n--b--`);
    const r = new MultipartReader(chunked(body, 10), 'b');
    await r.nextPart();
    await expect(r.readText(50, 'field "a"')).rejects.toMatchObject({ code: 'field_too_large' });
  });
});
