/**
 * Three kinds of tests (see README): unit (no network), integration (DynamoDB Local, local fake
 * providers, the real `openai` client) and infra (CDK assertions). ts-jest only transpiles each
 * file (isolated modules, fast); `npm test` type-checks the whole project with tsc first.
 */
const tsJest = [
  'ts-jest',
  {
    tsconfig: {
      module: 'commonjs',
      target: 'es2022',
      allowJs: true,
      isolatedModules: true,
      esModuleInterop: true,
      sourceMap: true,
    },
  },
];

const common = {
  // @middy/core is an ES module; compile it to CommonJS like our own code.
  transform: { '^.+\\.(t|j)s$': tsJest },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/setup/environment.ts'],
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/setup/start-dynamodb-local.ts',
      globalTeardown: '<rootDir>/test/setup/stop-dynamodb-local.ts',
    },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
  ],
};
