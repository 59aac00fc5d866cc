// ESLint (flat config): typescript-eslint and eslint-plugin-vue, Prettier for layout
// (eslint-config-prettier turns off the rules it owns), and the direction of imports between the
// folders of src/ (eslint-plugin-boundaries): data flows portal → b24 → sync → store → scoring →
// writeback / UI API, and only entry points may import the emulator. The files directly under src/
// (app.ts, demo.ts, config.ts, portal-clients.ts) are the composition roots: they belong to no layer.
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import prettier from 'eslint-config-prettier';
import vue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * src/<folder> → the folders it may import (besides itself, manifest/, packages, and src/bitrix:
 * pure facts of the Bitrix24 REST API — naming rules, formats — that the app and the emulator share).
 */
const LAYERS = {
  bitrix: [],
  scoring: [],
  settings: ['scoring'],
  segments: ['scoring', 'settings'],
  store: ['scoring', 'settings', 'segments'],
  b24: ['store'],
  sync: ['b24', 'store'],
  pipeline: ['store', 'scoring', 'settings', 'segments'],
  writeback: ['b24', 'store', 'scoring', 'settings', 'segments'],
  automation: ['b24', 'store', 'scoring', 'settings', 'segments'],
  campaigns: ['b24', 'store', 'scoring', 'settings', 'segments', 'automation', 'writeback'],
  events: ['b24', 'sync', 'store', 'scoring', 'settings', 'segments', 'pipeline', 'writeback', 'automation'],
  jobs: ['b24', 'sync', 'store', 'scoring', 'settings', 'segments', 'pipeline', 'writeback', 'automation', 'events', 'campaigns'],
  server: ['b24', 'store', 'scoring', 'settings', 'segments', 'writeback', 'automation', 'campaigns'],
  emulator: [],
  // `npm run probe`: an entry point that compares a real portal with the emulator's rules
  probe: ['emulator'],
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**', 'ui/dist/**', 'data/**', 'dist/**', '**/*.d.ts', 'bench/out/**', 'test/e2e/screenshots/**',
      'src/emulator/host/assets/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' } },
  },
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-empty': ['error', { allowEmptyCatch: true }],
      // a hint, not a law: functions longer than a screen are worth a second look
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['ui/src/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // tests read arbitrary JSON answers (any) and read top to bottom as scenarios (long functions)
    files: ['test/**', 'bench/**'],
    rules: { 'max-lines-per-function': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { typescript: { project: './tsconfig.json' } },
      'boundaries/include': ['src/**/*.ts', 'manifest/**/*.ts'],
      'boundaries/elements': [
        ...Object.keys(LAYERS).map((l) => ({ type: l, pattern: `src/${l}` })),
        { type: 'manifest', pattern: 'manifest' },
      ],
    },
    rules: {
      'boundaries/dependencies': ['error', {
        default: 'disallow',
        policies: [
          ...Object.entries(LAYERS).map(([from, to]) => ({
            from: { element: { type: from } },
            allow: { to: { element: { types: { anyOf: [from, 'manifest', 'bitrix', ...to] } } } },
          })),
          { from: { element: { type: 'manifest' } }, allow: { to: { element: { types: { anyOf: ['manifest'] } } } } },
        ],
      }],
    },
  },
  prettier,
);
