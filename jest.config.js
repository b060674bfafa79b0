/** Tests run on the TypeScript sources (trpc style): the workspace packages are mapped to their src. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
    // jose ships ESM only: its files are turned into CommonJS like the sources.
    '/jose/dist/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!\\.pnpm/jose@|jose/)'],
  moduleNameMapper: {
    '^@handoff/core$': '<rootDir>/packages/core/src/index.ts',
    '^@handoff/koa$': '<rootDir>/packages/koa-adapter/src/index.ts',
    '^@handoff/express$': '<rootDir>/packages/express-adapter/src/index.ts',
    '^@handoff/fastify$': '<rootDir>/packages/fastify-adapter/src/index.ts',
    '^@handoff/queue$': '<rootDir>/packages/queue/src/index.ts',
    '^@handoff/uploads$': '<rootDir>/packages/uploads/src/index.ts',
    '^@handoff/uploads/s3$': '<rootDir>/packages/uploads/src/s3.ts',
  },
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};
