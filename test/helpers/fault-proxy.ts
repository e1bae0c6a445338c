// An HTTP proxy on 127.0.0.1 in front of a test registry that injects faults the way real
// networks and registries fail: an error status for the next N matching requests, or a
// connection dropped after part of the request body has arrived. Everything else is passed
// through unchanged (Location headers keep pointing at the proxy, since clients resolve them
// against the host they talked to).
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyFault {
  method?: string;
  /** Matches the request path (and query). */
  path: RegExp;
  /** Answer with this status instead of forwarding. */
  status?: number;
  /** Forward nothing; read this many body bytes, then destroy the connection. */
  dropAfterBytes?: number;
  /** How many matching requests the fault applies to (default 1). */
  times?: number;
  /** Let this many matching requests through first. */
  skip?: number;
}

export interface FaultProxy {
  host: string;
  faults: ProxyFault[];
  /** Requests seen: method and path. */
  log: string[];
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const faults: ProxyFault[] = [];
  const log: string[] = [];
  const [targetHost, targetPort] = target.split(':') as [string, string];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    log.push(`${req.method} ${path}`);
    const i = faults.findIndex((f) => (f.method === undefined || f.method === req.method) && f.path.test(path));
    if (i >= 0 && (faults[i]!.skip ?? 0) > 0) faults[i]!.skip! -= 1;
    else if (i >= 0) {
      const f = faults[i]!;
      f.times = (f.times ?? 1) - 1;
      if (f.times <= 0) faults.splice(i, 1);
      if (f.status !== undefined) {
        req.resume();
        res.writeHead(f.status, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}');
        return;
      }
      if (f.dropAfterBytes !== undefined) {
        let n = 0;
        req.on('data', (c: Buffer) => {
          n += c.length;
          if (n >= f.dropAfterBytes!) req.socket.destroy();
        });
        req.on('end', () => req.socket.destroy());
        return;
      }
    }
    const headers = { ...req.headers };
    const up = request({ host: targetHost, port: Number(targetPort), method: req.method, path, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    faults,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
