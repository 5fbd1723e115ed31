// The request of git-receive-pack: ref update commands, the client's capabilities, push options,
// then (unless every command deletes) the pack.
import { isObjectId } from './object-id';
import { PktReader, decodePktText } from './pkt-line';

export interface RefCommand {
  oldSha: string;
  newSha: string;
  ref: string;
}

export interface ReceiveRequest {
  commands: RefCommand[];
  capabilities: Set<string>;
  pushOptions: string[];
  /** The pack bytes; empty when the client sent none. */
  pack: Uint8Array;
}

export function parseReceiveRequest(body: Uint8Array): ReceiveRequest {
  const reader = new PktReader(body);
  const commands: RefCommand[] = [];
  let capabilities = new Set<string>();
  for (;;) {
    const pkt = reader.next();
    if (!pkt) throw new Error('Cannot read the push: the command list ends without a flush');
    if (pkt.kind === 'flush') break;
    if (pkt.kind !== 'data') throw new Error('Cannot read the push: unexpected delimiter in the command list');
    let line = decodePktText(pkt.data);
    if (line.startsWith('shallow ')) continue;
    const nul = line.indexOf('\0');
    if (nul >= 0) {
      if (commands.length === 0) capabilities = new Set(line.slice(nul + 1).split(' ').filter(Boolean));
      line = line.slice(0, nul);
    }
    const [oldSha, newSha, ref, ...rest] = line.split(' ');
    if (!oldSha || !newSha || !ref || rest.length > 0 || !isObjectId(oldSha) || !isObjectId(newSha)) {
      throw new Error(`Cannot read the push: "${line.slice(0, 200)}" is not "<old-id> <new-id> <ref>"`);
    }
    commands.push({ oldSha, newSha, ref });
  }
  if (commands.length === 0) throw new Error('Cannot read the push: it names no refs');
  const pushOptions: string[] = [];
  if (capabilities.has('push-options')) {
    const section = reader.readSection();
    pushOptions.push(...section.lines);
  }
  return { commands, capabilities, pushOptions, pack: body.subarray(reader.offset) };
}
