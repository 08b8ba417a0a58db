// Raw bytes over TCP, for requests no HTTP client would send (malformed request lines, broken
// encodings, lying headers). Returns the status the server answered, or null if it closed without
// answering.
import net from "node:net";

export interface RawAnswer {
  status: number | null;
  head: string;
  body: string;
}

export function rawRequest(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(String(request).slice(0, 200))}`));
    }, timeoutMs);
    // Written without half-closing: Node's HTTP server aborts in-flight requests of a client that
    // ends its side. Requests say `connection: close`, so the server closes after answering.
    socket.on("connect", () => socket.write(request));
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      // A successful websocket upgrade keeps the socket open; its status line is all we need.
      if (/^HTTP\/1\.1 101 /.test(Buffer.concat(chunks).toString("latin1"))) socket.destroy();
    });
    // A reset after the answer is fine (the server may close while we still send a body it refused).
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const [head = "", body = ""] = text.split("\r\n\r\n", 2);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: match ? Number(match[1]) : null, head, body });
    });
  });
}
