// Docker's multiplexed stream (no TTY): each frame is an 8-byte header — stream (0 stdin, 1 stdout,
// 2 stderr), three zero bytes, the payload length as a big-endian uint32 — then the payload.
// With a TTY the bytes go raw.
export const STDOUT = 1;
export const STDERR = 2;

export function frame(stream: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

const enc = new TextEncoder();

/** One log line as the logs endpoint sends it. */
export function encodeLogLine(l: { stream: string; line: string; at: Date }, o: { tty: boolean; timestamps: boolean }): Uint8Array {
  const text = `${o.timestamps ? `${l.at.toISOString().replace(/Z$/, '000000Z')} ` : ''}${l.line}\n`;
  const bytes = enc.encode(text);
  return o.tty ? bytes : frame(l.stream === 'stderr' ? STDERR : STDOUT, bytes);
}
