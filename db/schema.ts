// The single source of truth for Berth's data. Row types come from $inferSelect/$inferInsert;
// migrations under db/migrations are generated from this file by drizzle-kit and committed.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const ts = (name: string) => timestamp(name, { withTimezone: true });

// ---------------------------------------------------------------- accounts and access

export const accountKind = pgEnum('account_kind', ['user', 'organization']);

export const accounts = pgTable('accounts', {
  id: text('id').primaryKey(),
  /** Lower-case, DNS- and registry-safe; the namespace of the account's repositories. */
  name: text('name').notNull().unique(),
  kind: accountKind('kind').notNull().default('user'),
  displayName: text('display_name'),
  email: text('email'),
  /** PBKDF2 (WebCrypto) in a self-describing string; null for accounts that sign in by token only. */
  passwordHash: text('password_hash'),
  isAdmin: boolean('is_admin').notNull().default(false),
  createdAt: createdAt(),
});

export const memberships = pgTable(
  'memberships',
  {
    organizationId: text('organization_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    role: text('role').notNull().default('member'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.userId] })],
);

export const tokens = pgTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** SHA-256 of the secret, hex. The secret itself is shown once and never stored. */
    secretHash: text('secret_hash').notNull().unique(),
    scopes: text('scopes').array().notNull().default(sql`'{read,write}'::text[]`),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
    lastUsedAt: ts('last_used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('tokens_account_idx').on(t.accountId)],
);

export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    secretHash: text('secret_hash').notNull().unique(),
    csrfToken: text('csrf_token').notNull(),
    expiresAt: ts('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('sessions_account_idx').on(t.accountId)],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    requestHash: text('request_hash').notNull(),
    status: integer('status'),
    body: jsonb('body'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.key] })],
);

// ---------------------------------------------------------------- apps and deployments

export const apps = pgTable(
  'apps',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    /** Globally unique: the app's address is <name>.<apps domain>. */
    name: text('name').notNull().unique(),
    /** Service configuration: ports, env, resources, restart policy, health check, instances, runtime. */
    config: jsonb('config').notNull().default({}),
    deployBranch: text('deploy_branch').notNull().default('main'),
    dockerfilePath: text('dockerfile_path').notNull().default('Dockerfile'),
    contextPath: text('context_path').notNull().default('.'),
    currentDeploymentId: text('current_deployment_id'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('apps_account_idx').on(t.accountId)],
);

export const appSecrets = pgTable(
  'app_secrets',
  {
    appId: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    value: text('value').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.name] })],
);

export const deploymentStatus = pgEnum('deployment_status', [
  'pending',
  'deploying',
  'active',
  'failed',
  'superseded',
  'rolled_back',
]);

export const deployments = pgTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    appId: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    buildId: text('build_id'),
    imageRef: text('image_ref').notNull(),
    manifestDigest: text('manifest_digest'),
    /** The app's configuration frozen at deploy time, so a rollback restores it whole. */
    config: jsonb('config').notNull().default({}),
    status: deploymentStatus('status').notNull().default('pending'),
    error: text('error'),
    createdAt: createdAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [uniqueIndex('deployments_app_number_idx').on(t.appId, t.number)],
);

// ---------------------------------------------------------------- builds

export const buildStatus = pgEnum('build_status', ['queued', 'running', 'succeeded', 'failed', 'cancelled']);

export const builds = pgTable(
  'builds',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    appId: text('app_id').references(() => apps.id, { onDelete: 'set null' }),
    status: buildStatus('status').notNull().default('queued'),
    /** Where the request came from: api, form, git, docker, runner. */
    source: text('source').notNull().default('api'),
    /** Digest of the build context archive stored at contexts/sha256/<hex>; null for Dockerfile-only. */
    contextDigest: text('context_digest'),
    contextMediaType: text('context_media_type'),
    dockerfilePath: text('dockerfile_path').notNull().default('Dockerfile'),
    /** Dockerfile text when given apart from the context. */
    dockerfile: text('dockerfile'),
    buildArgs: jsonb('build_args').notNull().default({}),
    labels: jsonb('labels').notNull().default({}),
    target: text('target'),
    noCache: boolean('no_cache').notNull().default(false),
    cacheFrom: text('cache_from').array().notNull().default(sql`'{}'::text[]`),
    /** Canonical references to tag on success, e.g. 127.0.0.1:8080/admin/web:latest. */
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    gitCommit: text('git_commit'),
    gitRef: text('git_ref'),
    deployOnSuccess: boolean('deploy_on_success').notNull().default(false),
    imageRef: text('image_ref'),
    manifestDigest: text('manifest_digest'),
    configDigest: text('config_digest'),
    error: text('error'),
    runnerId: text('runner_id'),
    createdAt: createdAt(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('builds_account_idx').on(t.accountId, t.createdAt), index('builds_app_idx').on(t.appId, t.createdAt)],
);

/** A key per instruction → its result, shared by every runner. */
export const buildCache = pgTable('build_cache', {
  key: text('key').primaryKey(),
  /** Null when the instruction changed only the config. */
  layerDigest: text('layer_digest'),
  diffId: text('diff_id'),
  layerSize: bigint('layer_size', { mode: 'number' }),
  /** Image config after the instruction, so a hit restores env, workdir, user and the rest. */
  config: jsonb('config'),
  createdAt: createdAt(),
  lastUsedAt: ts('last_used_at').notNull().defaultNow(),
});

// ---------------------------------------------------------------- the queue

export const jobStatus = pgEnum('job_status', ['queued', 'running', 'succeeded', 'failed', 'cancelled']);

export const jobs = pgTable(
  'jobs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** build, run, stop, deploy, … — the runner's handler table is keyed by it. */
    kind: text('kind').notNull(),
    payload: jsonb('payload').notNull().default({}),
    status: jobStatus('status').notNull().default('queued'),
    /** Higher first. */
    priority: integer('priority').notNull().default(0),
    /** Only this runner may claim it (a stop for a container placed there). */
    runnerId: text('runner_id'),
    /** Labels a claiming runner must carry. */
    requiredLabels: jsonb('required_labels').notNull().default({}),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    /** The fencing token: bumped on every claim; results are written only under the current one. */
    leaseGeneration: integer('lease_generation').notNull().default(0),
    leasedBy: text('leased_by'),
    leaseExpiresAt: ts('lease_expires_at'),
    runAfter: ts('run_after').notNull().defaultNow(),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    result: jsonb('result'),
    error: text('error'),
    /** What the job is about, for lookups: build id, container id, deployment id. */
    subjectId: text('subject_id'),
    createdAt: createdAt(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    index('jobs_claim_idx').on(t.status, t.priority, t.runAfter),
    index('jobs_lease_idx').on(t.status, t.leaseExpiresAt),
    index('jobs_subject_idx').on(t.subjectId),
  ],
);

export const runnerStatus = pgEnum('runner_status', ['active', 'draining', 'stopped', 'dead']);

export const runners = pgTable('runners', {
  id: text('id').primaryKey(),
  hostname: text('hostname').notNull(),
  /** Where app traffic and published ports reach this runner from the functions. */
  address: text('address').notNull().default('127.0.0.1'),
  capacity: jsonb('capacity').notNull().default({}),
  labels: jsonb('labels').notNull().default({}),
  status: runnerStatus('status').notNull().default('active'),
  version: text('version'),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
  createdAt: createdAt(),
});

// ---------------------------------------------------------------- containers and logs

export const containerStatus = pgEnum('container_status', [
  'created',
  'starting',
  'running',
  'restarting',
  'stopping',
  'exited',
  'dead',
  'removed',
]);

export const containers = pgTable(
  'containers',
  {
    /** 64 hex characters, as Docker's. */
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    appId: text('app_id').references(() => apps.id, { onDelete: 'set null' }),
    deploymentId: text('deployment_id'),
    name: text('name').notNull(),
    runnerId: text('runner_id'),
    imageRef: text('image_ref').notNull(),
    manifestDigest: text('manifest_digest'),
    /** Run-time overrides and limits: cmd, entrypoint, env, user, workdir, tty, stdin, memory, cpus. */
    spec: jsonb('spec').notNull().default({}),
    /** [{ hostIp, hostPort, containerPort, protocol }], host ports filled in once bound. */
    ports: jsonb('ports').notNull().default([]),
    restartPolicy: text('restart_policy').notNull().default('no'),
    autoRemove: boolean('auto_remove').notNull().default(false),
    status: containerStatus('status').notNull().default('created'),
    health: text('health'),
    exitCode: integer('exit_code'),
    exitReason: text('exit_reason'),
    restartCount: integer('restart_count').notNull().default(0),
    pid: integer('pid'),
    ipAddress: text('ip_address'),
    createdAt: createdAt(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    uniqueIndex('containers_account_name_idx').on(t.accountId, t.name),
    index('containers_runner_idx').on(t.runnerId, t.status),
    index('containers_app_idx').on(t.appId),
  ],
);

export const logLines = pgTable(
  'log_lines',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** 'build' | 'container' | 'deployment' */
    subjectKind: text('subject_kind').notNull(),
    subjectId: text('subject_id').notNull(),
    /** stdout | stderr | system */
    stream: text('stream').notNull().default('stdout'),
    at: ts('at').notNull().defaultNow(),
    line: text('line').notNull(),
  },
  (t) => [index('log_lines_subject_idx').on(t.subjectKind, t.subjectId, t.id)],
);

// ---------------------------------------------------------------- registry

export const repositories = pgTable(
  'repositories',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    /** Full name within Berth's registry, e.g. admin/web. */
    name: text('name').notNull().unique(),
    public: boolean('public').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [index('repositories_account_idx').on(t.accountId)],
);

/** Every blob Berth holds in S3 at blobs/sha256/<hex>, once, whoever pushed or built it. */
export const blobs = pgTable('blobs', {
  digest: text('digest').primaryKey(),
  size: bigint('size', { mode: 'number' }).notNull(),
  mediaType: text('media_type'),
  /** For layers: the digest of the uncompressed tar. */
  diffId: text('diff_id'),
  createdAt: createdAt(),
});

/** A blob linked into a repository: what a pull may read and a mount may copy. */
export const repositoryBlobs = pgTable(
  'repository_blobs',
  {
    repositoryId: text('repository_id').notNull().references(() => repositories.id, { onDelete: 'cascade' }),
    digest: text('digest').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.digest] })],
);

export const manifests = pgTable(
  'manifests',
  {
    repositoryId: text('repository_id').notNull().references(() => repositories.id, { onDelete: 'cascade' }),
    digest: text('digest').notNull(),
    mediaType: text('media_type').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    artifactType: text('artifact_type'),
    /** The digest in the manifest's `subject`, for the referrers API. */
    subjectDigest: text('subject_digest'),
    /** Annotations, kept for the referrers API's descriptors. */
    annotations: jsonb('annotations'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.repositoryId, t.digest] }),
    index('manifests_subject_idx').on(t.repositoryId, t.subjectDigest),
  ],
);

/** What a manifest points at: layers, config, child manifests. Drives GC marks and delete checks. */
export const manifestReferences = pgTable(
  'manifest_references',
  {
    repositoryId: text('repository_id').notNull(),
    manifestDigest: text('manifest_digest').notNull(),
    childDigest: text('child_digest').notNull(),
    /** layer | config | manifest | subject */
    kind: text('kind').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.repositoryId, t.manifestDigest, t.childDigest] }),
    index('manifest_references_child_idx').on(t.childDigest),
  ],
);

export const tags = pgTable(
  'tags',
  {
    repositoryId: text('repository_id').notNull().references(() => repositories.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    manifestDigest: text('manifest_digest').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.name] })],
);

export const uploads = pgTable('uploads', {
  id: text('id').primaryKey(),
  repositoryId: text('repository_id').notNull().references(() => repositories.id, { onDelete: 'cascade' }),
  /** S3 multipart upload id and the object key it writes. */
  s3UploadId: text('s3_upload_id'),
  s3Key: text('s3_key').notNull(),
  /** Bytes received so far. */
  offset: bigint('offset', { mode: 'number' }).notNull().default(0),
  /** [{ partNumber, etag, size }] */
  parts: jsonb('parts').notNull().default([]),
  /** Serialised running hash state, so chunks may arrive at any function instance. */
  hashState: text('hash_state'),
  /** Bytes held back until a part reaches S3's minimum part size. */
  pendingKey: text('pending_key'),
  createdAt: createdAt(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** Secrets the deployment generates for itself when none is configured, e.g. the registry's token key. */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
});

// ---------------------------------------------------------------- git

export const gitRefs = pgTable(
  'git_refs',
  {
    appId: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    sha: text('sha').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.name] })],
);

/** Packs received by pushes, in S3 at git/<app id>/packs/<sha256 hex>.pack, in push order. */
export const gitPacks = pgTable(
  'git_packs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    appId: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
    digest: text('digest').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('git_packs_app_idx').on(t.appId, t.id)],
);

/** The commit graph of pushed packs (commit → parents), so a fast-forward check reads no pack. */
export const gitCommits = pgTable(
  'git_commits',
  {
    appId: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
    sha: text('sha').notNull(),
    tree: text('tree').notNull(),
    parents: text('parents').array().notNull().default(sql`'{}'::text[]`),
  },
  (t) => [primaryKey({ columns: [t.appId, t.sha] })],
);

/**
 * Where each object of an app lives: the pack that first brought it and its entry's byte range, so a
 * thin pack's delta base is one ranged S3 read.
 */
export const gitObjects = pgTable(
  'git_objects',
  {
    appId: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
    sha: text('sha').notNull(),
    packId: bigint('pack_id', { mode: 'number' }).notNull().references(() => gitPacks.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    offset: bigint('offset', { mode: 'number' }).notNull(),
    end: bigint('end', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.sha] }), index('git_objects_pack_offset_idx').on(t.packId, t.offset)],
);

/** A forge's push webhook for an app: the shared secret it signs with and where to fetch from. */
export const gitWebhooks = pgTable('git_webhooks', {
  appId: text('app_id')
    .primaryKey()
    .references(() => apps.id, { onDelete: 'cascade' }),
  /** Kept in clear: GitHub's HMAC needs the secret itself to verify. */
  secret: text('secret').notNull(),
  /** http(s) clone URL; when null the event's own repository URL is used. */
  cloneUrl: text('clone_url'),
  createdAt: createdAt(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export type Account = typeof accounts.$inferSelect;
export type Token = typeof tokens.$inferSelect;
export type App = typeof apps.$inferSelect;
export type Build = typeof builds.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type NewJob = typeof jobs.$inferInsert;
export type Runner = typeof runners.$inferSelect;
export type Container = typeof containers.$inferSelect;
export type LogLine = typeof logLines.$inferSelect;
export type Repository = typeof repositories.$inferSelect;
export type Manifest = typeof manifests.$inferSelect;
export type Deployment = typeof deployments.$inferSelect;
export type GitRef = typeof gitRefs.$inferSelect;
export type GitPack = typeof gitPacks.$inferSelect;
