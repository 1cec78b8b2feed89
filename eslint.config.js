// `npm run lint` (part of `npm test`): eslint 9 with typescript-eslint, configured once here.
// - src/ and bin/ (the shipped code) get typescript-eslint's type-checked recommended set, typed
//   by tsconfig.build.json (the program that covers just those two): floating promises, `any`
//   leaking in, enum/number mix-ups, unbound methods.
// - test/, bench/ and the scripts get the recommended set without type information: typing the
//   whole tree would double the lint time, and tap's `t.test(...)` calls are unawaited by design.
// Formatting is prettier's business (`npm run format`): none of these presets has layout rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The Node globals the plain-JS scripts use (TypeScript files get theirs from @types/node). */
const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  URL: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
};

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'coverage/', '.tap/', 'bench/results/', '**/*.json', '**/*.jsonl'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
  },
  {
    files: ['src/**/*.ts', 'bin/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.build.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The protocol enums (PayloadType, FlagCode, ActionStatus, smux Cmd) are wire codes, and the
      // decoded fields are plain numbers on purpose (an unknown code must be representable), so
      // comparing a number with an enum member is the intended check, not a mix-up.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: nodeGlobals },
  },
  {
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-fallthrough': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },
);
