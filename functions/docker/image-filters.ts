// The `filters` of GET /images/json (`docker images web`, `--filter dangling=true|reference=…|
// label=…|before=…|since=…`). Berth shows tagged images only, so none is dangling.
import { dockerError } from './engine-errors';

export interface ImageFilters {
  dangling?: boolean;
  reference: string[];
  label: string[];
  before: string[];
  since: string[];
}

export function parseImageFilters(raw: string | undefined): ImageFilters {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw || '{}');
  } catch {
    throw dockerError(400, 'Invalid "filters": expected JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw dockerError(400, 'Invalid "filters": expected a JSON object');
  const out: ImageFilters = { reference: [], label: [], before: [], since: [] };
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    const list = Array.isArray(v) ? v : typeof v === 'object' && v !== null ? Object.keys(v).filter((x) => (v as Record<string, unknown>)[x] === true) : [];
    if (!list.every((x) => typeof x === 'string')) throw dockerError(400, `Invalid filter '${k}': values must be strings`);
    const values = list as string[];
    if (k === 'dangling') {
      if (values.length !== 1 || !['true', 'false', '1', '0'].includes(values[0]!)) throw dockerError(400, `Invalid filter "dangling=${values.join(',')}": expected true or false`);
      out.dangling = values[0] === 'true' || values[0] === '1';
    } else if (k === 'reference' || k === 'label' || k === 'before' || k === 'since') {
      out[k] = values;
    } else {
      throw dockerError(400, `Invalid filter '${k}': Berth filters images by dangling, reference, label, before or since`);
    }
  }
  return out;
}

/** Docker's path.Match: `*` is any run of non-slash characters, `?` one of them. */
export function matchesReference(pattern: string, familiar: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  const repo = familiar.replace(/:[^:/]+$/, '');
  return re.test(familiar) || re.test(repo);
}
