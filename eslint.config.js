// Type-aware lint rules that catch real bugs in async orchestration code (floating promises above
// all), and React's rules of hooks for the dashboard; style is left to the formatter and to review.
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/dist/**", "packages/db/src/generated/**", "e2e/artifacts/**"],
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
    // Routers translate and authorise; services own the database. The router context has no
    // database handle (trpc.ts), and this keeps one from being imported or dug out of the services.
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
      "no-restricted-syntax": [
        "error",
        {
          selector: "MemberExpression[property.name=/^(prisma|pool)$/]",
          message: "Routers reach the database through services: pass ctx.services.resources to a service.",
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
