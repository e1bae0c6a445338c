// Owns `strata serve`: an OCI registry whose repository names list Debian packages; images
// are built on the first pull and served from the store afterwards (docs/serve.md). Logs
// are JSON lines on stdout, one per request and per event (snapshot, build); the first line
// says where the server listens. SIGINT or SIGTERM stops it after the running responses.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { StrataError } from '../../errors.js';
import { CacheDir, defaultCacheRoot } from '../../cache/cache-dir.js';
import { checkListen, defaultServerConfig, parseServerConfig } from '../../server/config.js';
import { startServer } from '../../server/serve.js';
import type { BlobStore } from '../../store/blob-store.js';
import { FsStore, defaultStoreRoot } from '../../store/fs-store.js';
import { S3Store, parseS3Url } from '../../store/s3-store.js';
import type { ServerConfig } from '../../server/config.js';

/** The folder store, or the S3 store of an s3:// URL (credentials from the environment). */
async function openStore(where: string, config: ServerConfig, env: NodeJS.ProcessEnv): Promise<BlobStore> {
  if (!where.startsWith('s3://')) return FsStore.open(resolve(where));
  const url = parseS3Url(where);
  if (url === undefined) throw new StrataError('USAGE', `serve: ${where} is not s3://BUCKET[/PREFIX]`);
  // An empty variable counts as unset.
  const endpoint = config.s3?.endpoint || env.S3_ENDPOINT || env.AWS_ENDPOINT_URL || undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID || env.S3_KEY || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || env.S3_SECRET || undefined;
  if (endpoint === undefined || accessKeyId === undefined || secretAccessKey === undefined) {
    throw new StrataError('USAGE', `serve: the store ${where} needs an endpoint and credentials`, {
      hint: 'set s3.endpoint in the config (or S3_ENDPOINT) and AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment',
    });
  }
  if (!/^https?:\/\/[^/]+\/?$/.test(endpoint)) throw new StrataError('USAGE', `serve: the S3 endpoint ${JSON.stringify(endpoint)} is not http(s)://HOST[:PORT]`);
  const region = config.s3?.region || env.AWS_REGION || undefined;
  return S3Store.open({ endpoint, bucket: url.bucket, prefix: url.prefix, accessKeyId, secretAccessKey, redirect: config.s3?.redirect ?? false, ...(region ? { region } : {}) });
}
import { CACHE_OPTION, type Command } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run an OCI registry that builds images on demand: the repository name lists the packages.',
  description: [
    'docker pull HOST/redis-server, podman pull HOST/python3/python3-requests: the first pull locks and',
    'builds the image from the archive snapshot the server holds (verified like `strata lock`), later pulls',
    'are served from the store. Names, tags, limits and the configuration file: docs/serve.md.',
    'Logs are JSON lines on stdout. The store is --store, else the config, else $STRATA_STORE_DIR,',
    '$XDG_DATA_HOME/strata/store or ~/.local/share/strata/store; s3://BUCKET/PREFIX puts it in S3.',
  ].join('\n'),
  positionals: [],
  options: [
    { name: 'listen', type: 'string', value: 'HOST:PORT', description: 'where to listen (default: the config, else 127.0.0.1:5000; port 0 picks a free one)' },
    { name: 'store', type: 'string', value: 'DIR|URL', description: 'where manifests, blobs and records live: a folder, or s3://BUCKET/PREFIX (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)' },
    { name: 'config', type: 'string', value: 'FILE', description: 'the server configuration (YAML): source, architectures, refresh, specs, limits' },
    { name: 'workers', type: 'string', value: 'N', description: 'compression threads per build (default: the core count; the bytes do not depend on it)' },
    CACHE_OPTION,
  ],
  examples: ['strata serve', 'strata serve --listen 0.0.0.0:5000 --store /srv/strata --config serve.yaml', 'podman pull --tls-verify=false localhost:5000/shell/curl'],
  async run(args, out) {
    const configPath = args.options.config as string | undefined;
    let config = defaultServerConfig();
    if (configPath !== undefined) {
      let text: string;
      try {
        text = await readFile(configPath, 'utf8');
      } catch (e) {
        throw new StrataError('CONFIG_INVALID', `cannot read ${configPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'give the path of a server configuration file (docs/serve.md)' });
      }
      config = parseServerConfig(text, configPath, dirname(resolve(configPath)));
    }
    const listenFlag = args.options.listen as string | undefined;
    if (listenFlag !== undefined) {
      config.listen = checkListen(listenFlag, (why) => {
        throw new StrataError('USAGE', `serve: --listen ${why}`);
      });
    }
    let workers: number | undefined;
    if (args.options.workers !== undefined) {
      workers = Number(args.options.workers);
      if (!Number.isInteger(workers) || workers < 0 || workers > 64) throw new StrataError('USAGE', 'serve: --workers must be an integer from 0 to 64');
    }
    const storeWhere = (args.options.store as string | undefined) ?? config.store ?? defaultStoreRoot();
    const cacheFlag = args.options['cache-dir'] as string | undefined;
    const cache = await CacheDir.open(resolve(cacheFlag ?? config.cacheDir ?? defaultCacheRoot()));
    const store = await openStore(storeWhere, config, process.env);
    // Log lines are batched into one write per turn of the event loop: under load, one write
    // per request costs more than answering it.
    let batch: string[] = [];
    const flush = () => {
      if (batch.length === 0) return;
      const text = batch.join('');
      batch = [];
      process.stdout.write(text);
    };
    const write = (entry: unknown) => {
      if (batch.length === 0) setImmediate(flush);
      batch.push(`${JSON.stringify(entry)}\n`);
    };
    const server = await startServer({ config, store, cache, onLog: write, ...(workers !== undefined ? { workers } : {}) });
    const snapshot = server.registry.snapshots.current?.record.tag;
    write({ kind: 'event', time: new Date().toISOString(), event: 'listening', url: server.url, store: store.description, cache: cache.root, snapshot });
    out.note(`strata serve: listening on ${server.url} (store ${store.description}, snapshot ${snapshot}); try: podman pull --tls-verify=false ${server.url.replace(/^http:\/\//, '')}/shell`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    write({ kind: 'event', time: new Date().toISOString(), event: 'stopped' });
    flush();
    return 0;
  },
};
