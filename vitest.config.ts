import { defineConfig } from 'vitest/config';

// Tests mirror the source tree under test/. By name:
//   *.test.ts       pure, no services
//   *.int.test.ts   against the real Postgres and S3 server the global setup starts
//   *.root.test.ts  also touch the machine (runc, mounts, namespaces); CI runs as root
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    // The AWS SDK is pinned to a Node 20 release on purpose; its notice would drown the output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'test/**/*.root.test.ts', 'test/bench/**', 'node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/**/*.int.test.ts'],
          exclude: ['test/bench/**', 'node_modules/**'],
          globalSetup: ['test/setup/stack.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        // Root tests start real runners, which claim any job they may: one file at a time, on a stack
        // of their own, so no runner takes another test's (or the integration tests') jobs.
        test: {
          name: 'root',
          sequence: { groupOrder: 2 },
          include: ['test/**/*.root.test.ts'],
          exclude: ['test/bench/**', 'node_modules/**'],
          globalSetup: ['test/setup/stack.ts'],
          testTimeout: 180_000,
          hookTimeout: 400_000,
          pool: 'forks',
          maxWorkers: 1,
        },
      },
    ],
  },
});
