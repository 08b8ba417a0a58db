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

/** A wire-protocol fake: served on loopback by `start()`, answering each request with `handle`. */
export abstract class LoopbackFake {
  private server!: LoopbackServer;
  url = "";

  static async start<T extends LoopbackFake>(this: new () => T): Promise<T> {
    const fake = new this();
    fake.server = await serveOnLoopback((req, res) => void fake.handle(req, res));
    fake.url = fake.server.url;
    return fake;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
}

/** A request's whole body as text ("" when it has none). */
export async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
