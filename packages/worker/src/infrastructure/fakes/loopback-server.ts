// The HTTP server under each wire-protocol fake: loopback only, an ephemeral port, and a close
// that does not wait for the real clients' keep-alive connections.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface LoopbackServer {
  url: string;
  close(): Promise<void>;
}

export async function serveOnLoopback(handler: http.RequestListener): Promise<LoopbackServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
