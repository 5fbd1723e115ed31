// Docker's `filters` query parameter, shared by the list and prune calls: JSON mapping each filter to
// its values, sent by the CLI as {"label":{"k=v":true}} and by older clients as {"label":["k=v"]}.
import { dockerError } from './engine-errors';

/**
 * The filters as lists of strings; refuses bad JSON, non-string values, and any filter outside
 * `known`, naming what the caller filters by (`what`, e.g. "Berth filters networks").
 */
export function parseFiltersParam(raw: string | undefined, known: readonly string[], what: string): Record<string, string[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw || '{}');
  } catch {
    throw dockerError(400, 'Invalid "filters": expected JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw dockerError(400, 'Invalid "filters": expected a JSON object');
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!known.includes(k)) throw dockerError(400, `Invalid filter '${k}': ${what} by ${known.slice(0, -1).join(', ')}${known.length > 1 ? ' or ' : ''}${known.at(-1) ?? ''}`);
    const list = Array.isArray(v) ? v : typeof v === 'object' && v !== null ? Object.keys(v).filter((x) => (v as Record<string, unknown>)[x] === true) : [];
    if (!list.every((x) => typeof x === 'string')) throw dockerError(400, `Invalid filter '${k}': values must be strings`);
    out[k] = list as string[];
  }
  return out;
}
