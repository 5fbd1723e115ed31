import { readS3Config, type S3Config } from './storage/s3';

export interface FunctionsConfig {
  databaseUrl: string;
  s3: S3Config;
  publicUrl?: string;
  /** Key for the registry's bearer tokens (BERTH_REGISTRY_SECRET); generated and stored when unset. */
  registrySecret?: string;
  appsDomain?: string;
  contextBytes?: number;
  /**
   * BERTH_REGISTRY_REDIRECT: when blob GETs answer 307 to a presigned S3 URL instead of streaming.
   * `presigned` (or `always`): every GET; `local`: GETs from this machine when S3 is on it too; `off`:
   * never. Unset, each entry picks (the Node entry `local`, Workers `off`).
   */
  blobRedirect?: BlobRedirectMode;
}

export type BlobRedirectMode = 'always' | 'local' | 'off';

function parseRedirectMode(value: string | undefined): BlobRedirectMode | undefined {
  if (!value) return undefined;
  if (value === 'presigned' || value === 'always') return 'always';
  if (value === 'local' || value === 'off') return value;
  throw new Error(`Cannot start: BERTH_REGISTRY_REDIRECT "${value.slice(0, 40)}" is not one of presigned, always, local, off`);
}

/** The blob redirect of a platform for a configured mode (`fallback` when unset); undefined for off. */
export function blobRedirectOf(config: FunctionsConfig, fallback: BlobRedirectMode): { s3: S3Config; expiresInSeconds: number; when: 'always' | 'local' } | undefined {
  const mode = config.blobRedirect ?? fallback;
  return mode === 'off' ? undefined : { s3: config.s3, expiresInSeconds: 600, when: mode };
}

/** Reads the functions' configuration from process.env (Node) or the Worker's bindings. */
export function readFunctionsConfig(env: Record<string, unknown>): FunctionsConfig {
  const strings: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') strings[k] = v;
  const hyperdrive = env.HYPERDRIVE as { connectionString?: string } | undefined;
  const databaseUrl = hyperdrive?.connectionString ?? strings.DATABASE_URL;
  if (!databaseUrl) throw new Error('Cannot start: DATABASE_URL (or a HYPERDRIVE binding) is not set');
  const contextBytes = strings.BERTH_MAX_CONTEXT_BYTES ? Number(strings.BERTH_MAX_CONTEXT_BYTES) : undefined;
  if (contextBytes !== undefined && !(contextBytes > 0)) throw new Error(`Cannot start: BERTH_MAX_CONTEXT_BYTES "${strings.BERTH_MAX_CONTEXT_BYTES}" is not a positive number`);
  return {
    databaseUrl,
    s3: readS3Config(strings),
    publicUrl: strings.BERTH_PUBLIC_URL,
    appsDomain: strings.BERTH_APPS_DOMAIN,
    contextBytes,
    registrySecret: strings.BERTH_REGISTRY_SECRET || undefined,
    blobRedirect: parseRedirectMode(strings.BERTH_REGISTRY_REDIRECT),
  };
}
