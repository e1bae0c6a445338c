// Owns `strata serve`: an OCI registry whose repository names list Debian packages; images
// are built on the first pull and served from the store afterwards (docs/registry.md). Logs
// are JSON lines on stdout, one per request and per event (snapshot, build); the first line
// says where the server listens. SIGINT or SIGTERM stops it after the running responses.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { StrataError } from '../../errors.js';
import { CacheDir, defaultCacheRoot } from '../../cache/cache-dir.js';
import { checkListen, defaultServerConfig, parseServerConfig } from '../../server/config.js';
import { startServer } from '../../server/serve.js';
import { FsStore, defaultStoreRoot } from '../../store/fs-store.js';
import { CACHE_OPTION, type Command } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run an OCI registry that builds images on demand: the repository name lists the packages.',
  description: [
    'docker pull HOST/redis-server, podman pull HOST/python3/python3-requests: the first pull locks and',
    'builds the image from the archive snapshot the server holds (verified like `strata lock`), later pulls',
    'are served from the store. Names, tags, limits and the configuration file: docs/registry.md.',
    'Logs are JSON lines on stdout. The store is a folder: --store, else the config, else $STRATA_STORE_DIR,',
    '$XDG_DATA_HOME/strata/store or ~/.local/share/strata/store.',
  ].join('\n'),
  positionals: [],
  options: [
    { name: 'listen', type: 'string', value: 'HOST:PORT', description: 'where to listen (default: the config, else 127.0.0.1:5000; port 0 picks a free one)' },
    { name: 'store', type: 'string', value: 'DIR', description: 'the content-addressed folder of manifests, blobs and records' },
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
        throw new StrataError('CONFIG_INVALID', `cannot read ${configPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'give the path of a server configuration file (docs/registry.md)' });
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
    const storeDir = resolve((args.options.store as string | undefined) ?? config.store ?? defaultStoreRoot());
    const cacheFlag = args.options['cache-dir'] as string | undefined;
    const cache = await CacheDir.open(resolve(cacheFlag ?? config.cacheDir ?? defaultCacheRoot()));
    const store = await FsStore.open(storeDir);
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
    out.note(`strata serve: listening on ${server.url} (store ${storeDir}, snapshot ${snapshot}); try: podman pull --tls-verify=false ${server.url.replace(/^http:\/\//, '')}/shell`);
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
