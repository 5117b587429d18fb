import * as dgram from 'node:dgram';

/** UDP ports on 127.0.0.1 that were free a moment ago (bound to port 0 by the kernel, then released). */
export async function freeUdpPorts(count: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: count }, () => new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/**
 * A base port with `count` consecutive free UDP ports on 127.0.0.1 (checked by binding them), for programs
 * that take `--base-port` like the lab's, whose nodes use base-port .. base-port + count - 1.
 */
export async function freeUdpBasePort(count = 3): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    const sockets: dgram.Socket[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const s = dgram.createSocket('udp4');
        sockets.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind(base + i, '127.0.0.1', () => resolve());
        });
      }
      return base;
    } catch {
      // taken: try another base
    } finally {
      await Promise.all(sockets.map((s) => new Promise<void>((r) => { try { s.close(() => r()); } catch { r(); } })));
    }
  }
  throw new Error(`no ${count} consecutive free UDP ports found on 127.0.0.1`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for test servers: Jupyter, the explorer). */
export async function freeTcpPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
