// The `filters` of GET /images/json (`docker images web`, `--filter dangling=true|reference=…|
// label=…|before=…|since=…`). Berth shows tagged images only, so none is dangling.
import { dockerError } from './engine-errors';
import { parseFiltersParam } from './filters-param';

export interface ImageFilters {
  dangling?: boolean;
  reference: string[];
  label: string[];
  before: string[];
  since: string[];
}

export function parseImageFilters(raw: string | undefined): ImageFilters {
  const filters = parseFiltersParam(raw, ['dangling', 'reference', 'label', 'before', 'since'], 'Berth filters images');
  const out: ImageFilters = { reference: [], label: [], before: [], since: [] };
  for (const [k, values] of Object.entries(filters)) {
    if (k === 'dangling') {
      if (values.length !== 1 || !['true', 'false', '1', '0'].includes(values[0]!)) throw dockerError(400, `Invalid filter "dangling=${values.join(',')}": expected true or false`);
      out.dangling = values[0] === 'true' || values[0] === '1';
    } else {
      out[k as 'reference' | 'label' | 'before' | 'since'] = values;
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
