// Pushes built by hand, for what a real git client will not send: bad ref names, broken packs.
import { createHash } from 'node:crypto';

export const ZERO = '0'.repeat(40);

export function pkt(line: string): Buffer {
  const b = Buffer.from(line);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
}

/** A valid pack of no objects. */
export function emptyPack(): Buffer {
  const head = Buffer.from([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2, 0, 0, 0, 0]);
  return Buffer.concat([head, createHash('sha1').update(head).digest()]);
}

export async function rawPush(
  baseUrl: string,
  auth: { user: string; token: string },
  commands: { old: string; new: string; ref: string }[],
  pack: Buffer,
  caps = 'report-status',
): Promise<{ status: number; text: string }> {
  const lines = commands.map((c, i) => pkt(`${c.old} ${c.new} ${c.ref}${i === 0 ? `\0${caps}` : ''}\n`));
  const body = Buffer.concat([...lines, Buffer.from('0000'), pack]);
  const res = await fetch(`${baseUrl}/git-receive-pack`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.token}`).toString('base64')}`, 'content-type': 'application/x-git-receive-pack-request' },
    body,
  });
  return { status: res.status, text: await res.text() };
}
