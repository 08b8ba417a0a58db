import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `vite` (dev) proxies the API to a server started with `pnpm flowplane server start`.
const api = process.env.FLOWPLANE_API_URL || "http://127.0.0.1:4200";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: {
      "/trpc": { target: api, changeOrigin: true },
      "/trpc-ws": { target: api.replace(/^http/, "ws"), ws: true },
    },
  },
});
