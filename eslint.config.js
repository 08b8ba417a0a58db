// Type-aware lint rules that catch real bugs in async orchestration code (floating promises above
// all), and React's rules of hooks for the dashboard; style is left to the formatter and to review.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/dist/**", "packages/db/src/generated/**", "e2e/artifacts/**"],
  },
  {
    // The build, release and bench scripts written in JavaScript (run by Node as they are).
    files: ["**/*.mjs", "**/*.js"],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    files: ["**/*.ts", "**/*.tsx"],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": [
        "error",
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  {
    // Routers translate and authorise; services own the database. The router context has no usable
    // database handle (SealedResources in trpc.ts: a type error), and this keeps one from being imported.
    files: ["packages/api/src/routers/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "@flowplane/db", message: "Routers reach the database through services." },
            { name: "pg", message: "Routers reach the database through services." },
          ],
          patterns: [{ group: ["**/services/sql.ts"], message: "Routers reach the database through services." }],
        },
      ],
    },
  },
  {
    files: ["apps/dashboard/src/**/*.{ts,tsx}"],
    extends: [reactHooks.configs.flat.recommended],
    // A missing dependency is a stale-closure bug, not a style choice.
    rules: { "react-hooks/exhaustive-deps": "error" },
  },
);
