import * as dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { NodeId } from '../raft/types';

export interface Address {
  /** As dgram wants it: IPv6 without the brackets the node id has. */
  readonly host: string;
  readonly port: number;
}

const NODE_ID = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):([1-9][0-9]{0,4})$/;

/**
 * Parse a node id 'host:port' (IPv6 as '[::1]:8000'). The id doubles as a file name prefix and as the
 * sender identity on the wire, so only one spelling is accepted: no leading zeros, port 1-65535.
 * `field` names the option in the error ("options.peers[1]").
 */
export function parseNodeId(id: unknown, field = 'node id'): Address {
  const problem = `${field}: expected "host:port" such as "127.0.0.1:8000", got ${describe(id)}`;
  if (typeof id !== 'string') throw new TypeError(problem);
  const m = NODE_ID.exec(id);
  if (!m) throw new TypeError(problem);
  const port = Number(m[3]);
  if (port > 65535) throw new TypeError(`${field}: port ${port} is out of range 1-65535 in ${JSON.stringify(id)}`);
  const v6 = m[1];
  if (v6 !== undefined && !isIPv6(v6)) throw new TypeError(`${field}: ${JSON.stringify(v6)} is not an IPv6 address in ${JSON.stringify(id)}`);
  return { host: v6 ?? m[2]!, port };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

export type DatagramHandler = (datagram: Buffer, from: dgram.RemoteInfo) => void;

/** One Raft message per UDP datagram; no framing, no retries (Raft tolerates loss). */
export class UdpTransport {
  readonly id: NodeId;
  readonly address: Address;
  private readonly socket: dgram.Socket;
  private readonly peers = new Map<NodeId, Address>();
  private state: 'new' | 'starting' | 'open' | 'closed' = 'new';
  private handler: DatagramHandler = () => {};
  private abortStart: ((err: Error) => void) | null = null;
  /** Send failures (unreachable peer, buffer full) after start; never thrown at the caller. */
  sendErrors = 0;

  constructor(id: NodeId, options: { readonly recvBufferSize?: number } = {}) {
    this.id = id;
    this.address = parseNodeId(id, 'id');
    this.socket = dgram.createSocket({ type: isIPv6(this.address.host) ? 'udp6' : 'udp4', recvBufferSize: options.recvBufferSize });
    this.socket.on('message', (msg, rinfo) => {
      if (this.state === 'open') this.handler(msg, rinfo);
    });
  }

  onDatagram(handler: DatagramHandler): void {
    this.handler = handler;
  }

  /** Bind host:port. Rejects (never throws an unhandled 'error' event) when the address is taken. */
  start(): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error(`UDP transport ${this.id} was already started`));
    this.state = 'starting';
    return new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.socket.off('listening', onListening);
        this.state = 'closed';
        this.abortStart = null;
        try {
          this.socket.close();
        } catch {
          // not bound: nothing to close
        }
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EADDRNOTAVAIL' ? 'address not available on this machine' : err.message;
        reject(Object.assign(new Error(`cannot listen on UDP ${this.id}: ${why}`, { cause: err }), { code: err.code }));
      };
      const onListening = () => {
        this.socket.off('error', onError);
        // After bind, errors (e.g. ICMP unreachable on some platforms) must not crash the process.
        this.socket.on('error', () => {
          this.sendErrors++;
        });
        this.state = 'open';
        this.abortStart = null;
        resolve();
      };
      this.abortStart = (err) => {
        this.socket.off('error', onError);
        this.socket.off('listening', onListening);
        this.socket.on('error', () => {});
        reject(err);
      };
      this.socket.once('error', onError);
      this.socket.once('listening', onListening);
      this.socket.bind({ port: this.address.port, address: this.address.host, exclusive: true });
    });
  }

  /** Fire and forget: an invalid id throws, delivery failures only bump sendErrors. */
  send(to: NodeId, datagram: Buffer): void {
    if (this.state !== 'open') return;
    let address = this.peers.get(to);
    if (!address) {
      address = parseNodeId(to, 'destination');
      this.peers.set(to, address);
    }
    this.socket.send(datagram, address.port, address.host, (err) => {
      if (err) this.sendErrors++;
    });
  }

  /** Answer whoever sent a datagram (an admin client's ephemeral port), fire and forget like send(). */
  sendTo(address: Address, datagram: Buffer): void {
    if (this.state !== 'open') return;
    this.socket.send(datagram, address.port, address.host, (err) => {
      if (err) this.sendErrors++;
    });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    const wasStarted = this.state !== 'new';
    if (this.state === 'starting') this.abortStart?.(new Error(`UDP transport ${this.id} was closed while starting`));
    this.abortStart = null;
    this.state = 'closed';
    if (!wasStarted) {
      this.socket.close();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
