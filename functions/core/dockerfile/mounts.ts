// RUN --mount=type=cache|bind|secret|tmpfs|ssh,key=value,… parsed as BuildKit does. Values may
// hold `$VARS` (expanded by the planner); values without one are validated here.
import type { Mount, MountType } from './instructions';

const TYPES = new Set<MountType>(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);
const SHARING = new Set(['shared', 'private', 'locked']);
const SIZE = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i;

export class MountError extends Error {
  override name = 'MountError';
}

/** Comma-separated fields; a field starting with `"` is quoted (`""` is a quote), as Go's csv. */
function csvFields(value: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) throw new MountError(`Invalid mount "${value}": unterminated quote`);
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += value[i++];
      }
      if (i < value.length && value[i] !== ',') throw new MountError(`Invalid mount "${value}": text after a closing quote`);
    } else {
      const end = value.indexOf(',', i);
      field = value.slice(i, end === -1 ? value.length : end);
      if (field.includes('"')) throw new MountError(`Invalid mount "${value}": a quote inside an unquoted field`);
      i = end === -1 ? value.length : end;
    }
    fields.push(field);
    if (i >= value.length) return fields;
    i++; // the comma
  }
}

function parseBool(field: string, value: string): boolean {
  if (/^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw new MountError(`Invalid mount field "${field}": "${value}" is not a boolean`);
}

const literal = (v: string) => !v.includes('$');

export function parseMount(spec: string): Mount {
  const mount: Mount = { type: 'bind' };
  let readonly: boolean | undefined;
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    if (eq === -1) {
      if (key === 'readonly' || key === 'ro') readonly = true;
      else if (key === 'readwrite' || key === 'rw') readonly = false;
      else if (key === 'required' && (mount.type === 'secret' || mount.type === 'ssh')) mount.required = true;
      else throw new MountError(`Invalid mount field "${field}": expected key=value`);
      continue;
    }
    const value = field.slice(eq + 1);
    switch (key) {
      case 'type': {
        const type = value.toLowerCase() as MountType;
        if (!TYPES.has(type)) throw new MountError(`Unsupported mount type "${value}": use bind, cache, tmpfs, secret or ssh`);
        mount.type = type;
        break;
      }
      case 'from':
        mount.from = value;
        break;
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = value;
        break;
      case 'readonly':
      case 'ro':
        readonly = parseBool(field, value);
        break;
      case 'readwrite':
      case 'rw':
        readonly = !parseBool(field, value);
        break;
      case 'required':
        if (mount.type !== 'secret' && mount.type !== 'ssh') throw new MountError(`Mount key "required" is only for secret and ssh mounts, not ${mount.type}`);
        mount.required = parseBool(field, value);
        break;
      case 'size':
        if (mount.type !== 'tmpfs') throw new MountError(`Mount key "size" is only for tmpfs mounts, not ${mount.type}`);
        if (literal(value) && !SIZE.test(value)) throw new MountError(`Invalid tmpfs size "${value}": expected e.g. 64m or 1g`);
        mount.size = value;
        break;
      case 'id':
        mount.id = value;
        break;
      case 'sharing': {
        const sharing = value.toLowerCase();
        if (!SHARING.has(sharing)) throw new MountError(`Invalid cache sharing "${value}": use shared, private or locked`);
        mount.sharing = sharing as Mount['sharing'];
        break;
      }
      case 'mode':
        if (literal(value) && !/^[0-7]{1,11}$/.test(value)) throw new MountError(`Invalid mount mode "${value}": expected an octal number`);
        mount.mode = value;
        break;
      case 'uid':
      case 'gid':
        if (literal(value) && !/^[0-9]{1,10}$/.test(value)) throw new MountError(`Invalid mount ${key} "${value}": expected a number`);
        mount[key] = value;
        break;
      case 'env':
        mount.env = value;
        break;
      default:
        throw new MountError(`Unknown mount key "${key}" in "${field}"`);
    }
  }
  const fileInfo = mount.type === 'secret' || mount.type === 'ssh' || mount.type === 'cache';
  for (const k of ['mode', 'uid', 'gid'] as const) {
    if (mount[k] !== undefined && !fileInfo) throw new MountError(`Mount key "${k}" is not allowed for ${mount.type} mounts`);
  }
  if (mount.sharing !== undefined && mount.type !== 'cache') throw new MountError(`Cache sharing is only for cache mounts, not ${mount.type}`);
  if (mount.type === 'secret' && mount.from !== undefined) throw new MountError("Secret mounts can't be from images or stages");
  if (mount.env !== undefined && mount.type !== 'secret') throw new MountError(`Mount key "env" is only for secret mounts, not ${mount.type}`);
  if (mount.target === undefined && mount.type !== 'secret' && mount.type !== 'ssh') throw new MountError(`The ${mount.type} mount needs a target: add target=<path>`);
  // Bind and secret mounts are read-only unless asked; cache and tmpfs are writable.
  mount.readonly = readonly ?? !(mount.type === 'cache' || mount.type === 'tmpfs');
  if (mount.type === 'cache') mount.sharing ??= 'shared';
  return mount;
}
