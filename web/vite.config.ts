import { defineConfig } from "vite";

// The page is served as static files by `runbox serve --static web/dist`, possibly below a
// sub-path behind a reverse proxy, so every asset URL is relative and nothing comes from a CDN.
// `npm run dev` proxies the API to a running server (RUNBOX_URL, default 127.0.0.1:8080).
const target = process.env.RUNBOX_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // CodeMirror's language packages are split into lazily loaded chunks; the main chunk
    // (editor core + xterm) is legitimately a few hundred kB.
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      "/api": { target, changeOrigin: true, ws: true },
      "/healthz": { target },
    },
  },
});
