import type { ConnectionOptions } from 'bullmq';

/** The one BullMQ queue every instructor command and worker of a course shares. */
export const QUEUE_NAME = 'raftlab-grading';

/** BullMQ connection options from `redis://[:PASSWORD@]HOST:PORT[/DB]`, or an error saying what is wrong. */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue ${JSON.stringify(url)} is not a URL: expected redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:') throw new Error(`--queue ${JSON.stringify(url)}: expected a redis:// URL (redis://HOST:PORT)`);
  if (u.hostname === '') throw new Error(`--queue ${JSON.stringify(url)}: no host (redis://HOST:PORT)`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`--queue ${JSON.stringify(url)}: database ${JSON.stringify(u.pathname.slice(1))} is not a number`);
  return {
    host: u.hostname,
    port,
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    // BullMQ's workers block on Redis; they must wait for it rather than fail a command after N retries.
    maxRetriesPerRequest: null,
  };
}
