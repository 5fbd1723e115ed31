// relayGet against real sockets: an HTTP/1.1 upstream written byte-exact with node:net (so heads
// split across reads, short bodies and early closes can be produced), relayed into a node:http response.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { relayGet, type RelayHead } from '../../../functions/storage/relay-get.node.ts';

const servers: (Server | HttpServer)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** An upstream that answers each connection with `answer(socket, requestHead)`. */
async function upstream(answer: (socket: Socket, head: string) => void): Promise<URL> {
  const server = createServer((socket) => {
    let head = '';
    socket.on('data', (d) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) answer(socket, head);
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/key?X-Amz-Signature=abc`);
}

/** A front server relaying GETs to `target`; resolves with what a client received. */
async function fetchThrough(target: URL, range?: string): Promise<{ status: number; body: Buffer; complete: boolean; relayed: Promise<{ head: RelayHead; text?: string }> }> {
  let relayed!: Promise<{ head: RelayHead; text?: string }>;
  const front = createHttpServer((_req, res) => {
    relayed = relayGet(target, range, (head) => {
      if (head.status >= 300) return undefined;
      res.writeHead(head.status, { 'Content-Length': head.headers['content-length'] });
      return res;
    });
    relayed.then(
      ({ text, head }) => text !== undefined && res.writeHead(502).end(`${head.status} ${text}`),
      () => res.headersSent || res.writeHead(502).end(),
    );
  });
  servers.push(front);
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(`http://127.0.0.1:${(front.address() as AddressInfo).port}/`, resolve);
    req.on('error', reject);
    req.end();
  });
  const chunks: Buffer[] = [];
  const complete = await new Promise<boolean>((resolve) => {
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(res.complete));
    res.on('aborted', () => resolve(false));
    res.on('error', () => resolve(false));
  });
  return { status: res.statusCode!, body: Buffer.concat(chunks), complete, relayed };
}

describe('relayGet', () => {
  it('relays a large body whole, with the request line, Host and Range the upstream expects', async () => {
    const body = randomBytes(9 * 1024 * 1024 + 17);
    let seen = '';
    const target = await upstream((socket, head) => {
      seen = head;
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nETag: "x"\r\n\r\n`);
      socket.end(body);
    });
    const r = await fetchThrough(target, 'bytes=5-100');
    expect(seen.startsWith('GET /bucket/key?X-Amz-Signature=abc HTTP/1.1\r\n')).toBe(true);
    expect(seen).toContain(`Host: ${target.host}\r\n`);
    expect(seen).toContain('Range: bytes=5-100\r\n');
    expect(r.status).toBe(206);
    expect(r.complete).toBe(true);
    expect(r.body.equals(body)).toBe(true);
    expect((await r.relayed).head.headers.etag).toBe('"x"');
  });

  it('reads a head that arrives a few bytes at a time, with the body start in the same write', async () => {
    const body = randomBytes(300_000);
    const target = await upstream((socket) => {
      const all = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
      let at = 0;
      const step = () => {
        if (at >= 60) return void socket.end(all.subarray(at));
        socket.write(all.subarray(at, at + 7));
        at += 7;
        setTimeout(step, 2);
      };
      step();
    });
    const r = await fetchThrough(target);
    expect(r.status).toBe(200);
    expect(r.body.equals(body)).toBe(true);
  });

  it('hands back an error answer as text instead of relaying it', async () => {
    const xml = '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';
    const target = await upstream((socket) => socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Length: ${xml.length}\r\n\r\n${xml}`));
    const r = await fetchThrough(target);
    expect(r.status).toBe(502);
    expect(r.body.toString()).toBe(`403 ${xml}`);
  });

  it('cuts the client short and rejects when the upstream closes before its Content-Length', async () => {
    const target = await upstream((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n');
      socket.end(randomBytes(1_000_000));
    });
    const r = await fetchThrough(target);
    expect(r.complete).toBe(false);
    expect(r.body.length).toBeLessThan(5_000_000);
    await expect(r.relayed).rejects.toThrow(/closed the connection before the whole body/);
  });

  it('closes the upstream connection when the client goes away mid-body', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    const target = await upstream((socket) => {
      socket.on('close', () => upstreamClosed());
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n');
      const chunk = randomBytes(64 * 1024);
      const more = () => {
        while (!socket.destroyed && socket.write(chunk));
        if (!socket.destroyed) socket.once('drain', more);
      };
      more();
    });
    let relayed!: Promise<unknown>;
    const front = createHttpServer((_req, res) => {
      relayed = relayGet(target, undefined, () => (res.writeHead(200), res));
      relayed.catch(() => {});
    });
    servers.push(front);
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${(front.address() as AddressInfo).port}/`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end();
      setTimeout(() => reject(new Error('no body arrived')), 5000);
    });
    await closed;
    await expect(relayed).rejects.toThrow(/went away/);
  });

  it('refuses answers it cannot frame: chunked bodies and non-HTTP replies', async () => {
    const chunked = await upstream((socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
    await expect((await fetchThrough(chunked)).relayed).rejects.toThrow(/without a Content-Length/);
    const garbage = await upstream((socket) => socket.end('SSH-2.0-OpenSSH\r\n\r\n'));
    await expect((await fetchThrough(garbage)).relayed).rejects.toThrow(/not HTTP\/1\.1/);
  });
});
