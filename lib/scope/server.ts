import * as http from 'node:http';
import { scopeBundle } from './build';
import { scopeDocument } from './html';

export interface ScopeServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the explorer on 127.0.0.1: one page and its script. Once loaded the page needs no server (the core
 * and the simulator run in the page); the run lives in the URL hash.
 */
export async function startScopeServer(options: { port?: number; host?: string } = {}): Promise<ScopeServer> {
  const script = await scopeBundle();
  const page = scopeDocument('', { useHash: true }).replace('<script></script>', '<script src="scope.js"></script>');
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (url === '/' || url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
    } else if (url === '/scope.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(script);
    } else if (url === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
