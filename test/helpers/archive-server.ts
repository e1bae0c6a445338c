// Serves a directory over HTTP on 127.0.0.1 for hermetic tests, with faults that can be
// switched on per path: an error status for the next N requests, a body cut short, a
// replaced body, or a request that is never answered.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface Fault {
  status?: number;
  /** Send the headers of the full body, then only this many bytes, then drop the connection. */
  truncateTo?: number;
  /** Serve these bytes instead of the file. */
  body?: Buffer;
  /** Never answer. */
  hang?: boolean;
  /** How many requests the fault applies to (default: all). */
  times?: number;
}

export interface ArchiveServer {
  url: string;
  /** Faults keyed by a path suffix, e.g. "dists/fixture/InRelease". */
  faults: Map<string, Fault>;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function serveDirectory(root: string): Promise<ArchiveServer> {
  const faults = new Map<string, Fault>();
  const requests: string[] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    let fault: Fault | undefined;
    for (const [suffix, f] of faults) {
      if (path.endsWith(suffix)) {
        fault = f;
        if (f.times !== undefined && --f.times <= 0) faults.delete(suffix);
        break;
      }
    }
    if (fault?.hang) return; // the socket stays open until the server closes
    if (fault?.status !== undefined) {
      res.writeHead(fault.status, { 'content-type': 'text/plain' });
      res.end(`fault ${fault.status}\n`);
      return;
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    let body: Buffer;
    try {
      body = fault?.body ?? (await readFile(file));
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (fault?.truncateTo !== undefined) {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, fault.truncateTo), () => res.destroy());
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server = createServer((req, res) => {
    handler(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
