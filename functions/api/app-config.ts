// An app's service configuration, validated whole on every write and stored as JSON on the app.
import { z } from '@hono/zod-openapi';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const PortSchema = z
  .object({
    containerPort: z.number().int('must be a whole number').min(1, 'must be 1 to 65535').max(65535, 'must be 1 to 65535'),
    protocol: z.enum(['http', 'tcp', 'udp']).default('http'),
    /** Reachable from outside (through the app's address for http, a published port otherwise). */
    public: z.boolean().default(true),
  })
  .openapi('Port');

export const HealthCheckSchema = z
  .object({
    type: z.enum(['http', 'tcp', 'command']),
    path: z.string().startsWith('/', 'must start with "/"').max(1024).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    command: z.array(z.string().max(4096)).min(1).max(64).optional(),
    intervalSeconds: z.number().int().min(1).max(3600).default(30),
    timeoutSeconds: z.number().int().min(1).max(600).default(5),
    retries: z.number().int().min(1).max(100).default(3),
  })
  .refine((h) => h.type !== 'command' || h.command, { message: 'a command health check needs "command"', path: ['command'] })
  .openapi('HealthCheck');

export const AppConfigSchema = z
  .object({
    ports: z.array(PortSchema).max(20, 'at most 20 ports').default([]),
    env: z
      .record(z.string().regex(ENV_NAME, 'environment variable names are letters, digits and _, not starting with a digit'), z.string().max(32768))
      .refine((e) => Object.keys(e).length <= 200, 'at most 200 variables')
      .default({}),
    resources: z
      .object({
        cpus: z.number().min(0.1, 'must be at least 0.1').max(64, 'must be at most 64').default(1),
        memoryMb: z.number().int().min(16, 'must be at least 16').max(262144, 'must be at most 262144').default(512),
      })
      .default({ cpus: 1, memoryMb: 512 }),
    restartPolicy: z.enum(['no', 'on-failure', 'always', 'unless-stopped']).default('on-failure'),
    healthCheck: HealthCheckSchema.nullable().default(null),
    instances: z.number().int().min(0, 'must be 0 to 20').max(20, 'must be 0 to 20').default(1),
    imageVisibility: z.enum(['private', 'public']).default('private'),
  })
  .openapi('AppConfig');

export type AppConfig = z.infer<typeof AppConfigSchema>;

/** A partial update: top-level fields given replace the stored ones. */
export const AppConfigPatchSchema = z
  .object({
    ports: z.array(PortSchema).max(20, 'at most 20 ports'),
    env: z.record(z.string().regex(ENV_NAME, 'environment variable names are letters, digits and _, not starting with a digit'), z.string().max(32768)),
    resources: AppConfigSchema.shape.resources.unwrap().partial(),
    restartPolicy: AppConfigSchema.shape.restartPolicy.unwrap(),
    healthCheck: HealthCheckSchema.nullable(),
    instances: AppConfigSchema.shape.instances.unwrap(),
    imageVisibility: AppConfigSchema.shape.imageVisibility.unwrap(),
  })
  .partial()
  .strict()
  .openapi('AppConfigPatch');

/** Stored configuration with defaults filled in; anything unreadable falls back to the defaults. */
export function readAppConfig(stored: unknown): AppConfig {
  const parsed = AppConfigSchema.safeParse(stored ?? {});
  return parsed.success ? parsed.data : AppConfigSchema.parse({});
}
