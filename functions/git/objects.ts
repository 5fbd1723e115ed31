// What Berth reads inside objects: a commit's tree and parents, a tree's entries, a tag's target.
import { isObjectId } from './object-id';

const decoder = new TextDecoder();

export interface CommitInfo {
  tree: string;
  parents: string[];
}

export function parseCommit(data: Uint8Array): CommitInfo {
  const text = decoder.decode(data.subarray(0, Math.min(data.length, 64 * 1024)));
  const headerEnd = text.indexOf('\n\n');
  const lines = (headerEnd < 0 ? text : text.slice(0, headerEnd)).split('\n');
  const tree = lines[0]?.startsWith('tree ') ? lines[0].slice(5) : '';
  if (!isObjectId(tree)) throw new Error('Cannot parse a commit: it does not start with a tree line');
  const parents: string[] = [];
  for (const line of lines.slice(1)) {
    if (!line.startsWith('parent ')) break;
    const p = line.slice(7);
    if (!isObjectId(p)) throw new Error(`Cannot parse a commit: parent "${p}" is not an object id`);
    parents.push(p);
  }
  return { tree, parents };
}

export interface TreeEntry {
  mode: string;
  name: string;
  id: string;
}

export function parseTree(data: Uint8Array): TreeEntry[] {
  const out: TreeEntry[] = [];
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    const nul = data.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > data.length) throw new Error('Cannot parse a tree: an entry is truncated');
    const mode = decoder.decode(data.subarray(i, space));
    const name = decoder.decode(data.subarray(space + 1, nul));
    let id = '';
    for (const b of data.subarray(nul + 1, nul + 21)) id += b.toString(16).padStart(2, '0');
    out.push({ mode, name, id });
    i = nul + 21;
  }
  return out;
}

/** The object a tag points at. */
export function parseTagTarget(data: Uint8Array): string {
  const first = decoder.decode(data.subarray(0, 48)).split('\n')[0] ?? '';
  const id = first.startsWith('object ') ? first.slice(7) : '';
  if (!isObjectId(id)) throw new Error('Cannot parse a tag: it does not start with an object line');
  return id;
}
