// Which objects a fetch must send: everything reachable from the wants that is not reachable from
// what the client said it has.
import { parseCommit, parseTagTarget, parseTree } from './objects';
import type { GitObject } from './pack-reader';

function walk(objects: Map<string, GitObject>, roots: string[], stop: Set<string>, seen: Set<string>): void {
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id) || stop.has(id)) continue;
    const obj = objects.get(id);
    if (!obj) continue; // a submodule commit or an object the client has
    seen.add(id);
    if (obj.type === 'commit') {
      const c = parseCommit(obj.data);
      stack.push(c.tree, ...c.parents);
    } else if (obj.type === 'tree') {
      for (const e of parseTree(obj.data)) if (e.mode !== '160000') stack.push(e.id);
    } else if (obj.type === 'tag') {
      stack.push(parseTagTarget(obj.data));
    }
  }
}

export function selectObjectsToSend(objects: Map<string, GitObject>, wants: string[], haves: string[]): GitObject[] {
  const excluded = new Set<string>();
  walk(objects, haves.filter((h) => objects.has(h)), new Set(), excluded);
  const send = new Set<string>();
  walk(objects, wants, excluded, send);
  return [...send].map((id) => objects.get(id)!);
}
