// The floor of the manifest benchmark (bench/serve.ts): a bare node:http server that answers
// every request with the same bytes and headers as a cached manifest of `strata serve`, and
// does nothing else — no routing, no registry, no logs, no metrics.
//
//   node dist/bench/bare-server.js FILE MEDIA-TYPE DIGEST   (prints the port on stdout)
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

const [file, mediaType, digest] = process.argv.slice(2) as [string, string, string];
const body = readFileSync(file);
const headers = { 'content-type': mediaType, 'content-length': String(body.length), 'docker-distribution-api-version': 'registry/2.0', 'docker-content-digest': digest, etag: `"${digest}"` };
const server = createServer((req, res) => {
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
