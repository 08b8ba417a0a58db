import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig } from "vite";

// `vite` (dev) proxies the API to a server started with `pnpm flowplane server start`.
const api = process.env.FLOWPLANE_API_URL || "http://127.0.0.1:4200";

export default defineConfig({
  plugins: [react()],
  // Our packages are compiled from their sources, like every build in the repository
  // (infra/build/tsdown-preset.ts), never from a sibling's dist/.
  resolve: { conditions: ["@flowplane/source", ...defaultClientConditions] },
  // No source maps: a map embeds the dashboard's sources, and the server's tarball ships no sources.
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: {
    proxy: {
      "/trpc": { target: api, changeOrigin: true },
      "/trpc-ws": { target: api.replace(/^http/, "ws"), ws: true },
    },
  },
});
