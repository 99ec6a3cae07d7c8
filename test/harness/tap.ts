// A byte tap: a TCP relay between Sluice and a server that records every byte each way, per connection,
// so a test can prove what crossed a leg in plaintext, and can cut a connection as a vanishing server would. Both sides close together (a pipe pauses its source
// when the destination closes, so the source would never read its own EOF and close() would wait forever).
import net from 'node:net';

export interface TappedConnection {
  readonly up: Buffer[];
  readonly down: Buffer[];
  /** Closes both sides now (a server that vanishes). */
  cut(): void;
}

export interface Tap {
  readonly port: number;
  /** One record per relayed connection, in accept order (health probes included). */
  readonly connections: TappedConnection[];
  /** All upstream bytes of every connection, in arrival order. */
  upstream(): Buffer;
  close(): Promise<void>;
}

export interface TapOptions {
  /** Called after each upstream chunk is recorded (e.g. to cut the connection at a given point). */
  onUp?(c: TappedConnection): void;
}

export async function startTap(targetPort: number, opts: TapOptions = {}): Promise<Tap> {
  const connections: TappedConnection[] = [];
  const all: Buffer[] = [];
  const relay = net.createServer((c) => {
    const b = net.connect(targetPort, '127.0.0.1');
    const rec: TappedConnection = {
      up: [],
      down: [],
      cut: () => {
        c.destroy();
        b.destroy();
      },
    };
    connections.push(rec);
    c.on('data', (d: Buffer) => {
      const copy = Buffer.from(d);
      rec.up.push(copy);
      all.push(copy);
      opts.onUp?.(rec);
    });
    b.on('data', (d: Buffer) => rec.down.push(Buffer.from(d)));
    c.pipe(b);
    b.pipe(c);
    c.on('close', () => b.destroy());
    b.on('close', () => c.destroy());
    c.on('error', () => b.destroy());
    b.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    port: (relay.address() as net.AddressInfo).port,
    connections,
    upstream: () => Buffer.concat(all),
    close: () => new Promise<void>((r) => relay.close(() => r())),
  };
}
