// Moving bytes between two connected sockets: the proxy's tunnels, forward and expose.
//
// The fast way is the addon's splice() relay (native/egress.cc): the bytes go from one
// socket to the other through a kernel pipe, on a thread of its own, without entering
// JavaScript. Node hands the sockets over: it stops reading, passes on what it had
// already read, and keeps the handles open (idle) until the relay says it is done. When
// that cannot be done (a write still queued in Node), socket.pipe() both ways, whose
// backpressure works the same way, only slower.
import type { Socket } from 'node:net';
import { native } from '../../binding.js';

/** Relays of one sandbox: cancelled (and waited for) when it ends. */
export class Relays {
  private active = new Map<number, Promise<void>>();
  ended = false;

  add(efd: number, done: Promise<void>): void {
    this.active.set(efd, done);
    void done.then(() => this.active.delete(efd));
  }

  async closeAll(): Promise<void> {
    this.ended = true;
    for (const efd of this.active.keys()) native().egressRelayCancel(efd);
    await Promise.all(this.active.values());
  }
}

interface Handle {
  fd?: number;
  reading?: boolean;
  readStop?: () => number;
}

function takeBuffered(s: Socket): Buffer {
  const chunks: Buffer[] = [];
  let c: Buffer | null;
  while ((c = s.read() as Buffer | null) !== null) chunks.push(c);
  return Buffer.concat(chunks);
}

function handOver(a: Socket, b: Socket, toB: Buffer, relays: Relays): boolean {
  if (process.env.NSBIND_EGRESS_RELAY === 'pipe') return false;
  const ha = (a as unknown as { _handle?: Handle })._handle;
  const hb = (b as unknown as { _handle?: Handle })._handle;
  if (!ha?.readStop || !hb?.readStop || !(ha.fd! >= 0) || !(hb.fd! >= 0)) return false;
  if (a.writableLength > 0 || b.writableLength > 0 || a.readableEnded || b.readableEnded) return false;
  a.pause();
  b.pause();
  const fromA = Buffer.concat([toB, takeBuffered(a)]);
  const fromB = takeBuffered(b);
  // Synchronous from here: Node reads only from its event loop, which we do not enter.
  ha.readStop();
  hb.readStop();
  ha.reading = false;
  hb.reading = false;
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  const efd = native().egressRelay(ha.fd!, hb.fd!, fromA, fromB, () => {
    native().close(efd);
    a.destroy();
    b.destroy();
    finished();
  });
  if (efd < 0) return false; // nothing handed over yet: Node's stream still has it all
  relays.add(efd, done);
  return true;
}

/** Relays a <-> b until both directions end; `toB` is data from a already read. */
export function relay(a: Socket, b: Socket, relays: Relays, toB: Buffer = Buffer.alloc(0)): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  if (handOver(a, b, toB, relays)) return;
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  if (toB.length) b.write(toB);
  a.pipe(b);
  b.pipe(a);
  a.resume();
}
