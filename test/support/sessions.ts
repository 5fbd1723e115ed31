// A client of the runner's session socket (runner/container/attach.ts) for tests: sends the request
// line, splits the answer into its head line and the framed streams.
import { connect, type Socket } from 'node:net';
import type { serveAttach } from '../../runner/container/attach';
import type { Supervisor } from '../../runner/container/supervisor';

export interface SessionOutput {
  head: string;
  stdout: string;
  stderr: string;
  control: string;
}

export function sessionHandlers(sup: Supervisor): Parameters<typeof serveAttach>[1] {
  return { attach: (req, gone) => sup.attach(req, gone), resize: (req) => sup.resize(req), exec: (req) => sup.execSession(req) };
}

export function openSession(socketPath: string, request: Record<string, unknown>) {
  const client: Socket = connect({ path: socketPath, allowHalfOpen: true });
  const out: SessionOutput = { head: '', stdout: '', stderr: '', control: '' };
  let buf = Buffer.alloc(0);
  let headDone = false;
  client.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!headDone) {
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      out.head = buf.subarray(0, nl).toString();
      buf = buf.subarray(nl + 1);
      headDone = true;
    }
    while (buf.length >= 8 && buf.length >= 8 + buf.readUInt32BE(4)) {
      const n = buf.readUInt32BE(4);
      const text = buf.subarray(8, 8 + n).toString();
      if (buf[0] === 1) out.stdout += text;
      else if (buf[0] === 2) out.stderr += text;
      else out.control += text;
      buf = buf.subarray(8 + n);
    }
  });
  client.on('error', () => {});
  client.on('end', () => client.end());
  const closed = new Promise<void>((r) => client.on('close', () => r()));
  client.write(`${JSON.stringify(request)}\n`);
  const until = async (check: (o: SessionOutput) => boolean, timeoutMs = 5_000) => {
    for (let t = 0; t < timeoutMs && !check(out); t += 20) await new Promise((r) => setTimeout(r, 20));
    if (!check(out)) throw new Error(`Session output never matched: ${JSON.stringify(out)}`);
  };
  return { client, out, closed, until };
}
