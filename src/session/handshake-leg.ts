// HandshakeLeg: reads whole frames from one socket during the connection phase, where packets are few and
// small and each must be decoded. At the end of the handshake `detach()` hands the socket over to the
// command relay; any frame already read but not consumed is returned so that no byte is lost.
import type { Socket } from 'node:net';
import { Framer, type Frame } from '../protocol/framer.ts';
import { ProtocolError } from '../protocol/errors.ts';

export class LegClosed extends Error {
  constructor(readonly leg: 'client' | 'backend', reason: string) {
    super(`${leg} closed the connection ${reason}`);
  }
}

export class HandshakeLeg {
  readonly #socket: Socket;
  readonly #leg: 'client' | 'backend';
  readonly #framer: Framer;
  #waiter: { resolve: (f: Frame) => void; reject: (e: unknown) => void } | null = null;
  #failure: unknown = null;
  #onFrame: ((f: Frame) => void) | null = null;
  #onFailure: ((e: unknown) => void) | null = null;
  /** The last chunks received, covering at least every byte not yet taken as a frame (see detachRaw). */
  readonly #chunks: Buffer[] = [];
  #chunkBytes = 0;
  #received = 0;
  #taken = 0;

  constructor(socket: Socket, leg: 'client' | 'backend', maxPacket: number) {
    this.#socket = socket;
    this.#leg = leg;
    this.#framer = new Framer({ maxPacket });
    socket.on('data', this.#onData);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
  }

  /** Whether the peer closed (or the stream failed); next() rejects from then on. */
  get failed(): boolean {
    return this.#failure !== null;
  }

  /** The next frame, in order. Rejects with LegClosed / ProtocolError. */
  next(): Promise<Frame> {
    let f: Frame | null;
    try {
      f = this.#take();
    } catch (e) {
      return Promise.reject(e);
    }
    if (f !== null) return Promise.resolve(f);
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /**
   * Switches to push mode: every frame (already read or arriving) goes to `fn`, a failure to `onFailure`,
   * also one that came before (a peer that closed while the other leg was still being set up).
   */
  onFrame(fn: (f: Frame) => void, onFailure: (e: unknown) => void): void {
    this.#onFrame = fn;
    this.#onFailure = onFailure;
    this.#drainPushed();
    if (this.#failure !== null && this.#onFailure === onFailure) onFailure(this.#failure);
  }

  #drainPushed(): void {
    const fn = this.#onFrame;
    if (fn === null) return;
    for (let f = this.#take(); f !== null; f = this.#take()) {
      fn(f);
      if (this.#onFrame !== fn) return;
    }
  }

  /** Stops reading frames. Returns frames read but not consumed; throws if a packet is half read. */
  detach(): Frame[] {
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.#onClose);
    this.#socket.off('error', this.#onError);
    this.#onFrame = null;
    this.#onFailure = null;
    const rest: Frame[] = [];
    for (let f = this.#take(); f !== null; f = this.#take()) rest.push(f);
    if (this.#framer.pending() > 0) throw new ProtocolError('bytes of a partial packet at the end of the handshake');
    return rest;
  }

  /**
   * Stops reading frames and returns the raw bytes received but not taken as a frame. For a socket that
   * switches to TLS after the SSLRequest: a client may send its ClientHello right behind the SSLRequest
   * (mysql2 does), and those bytes belong to the TLS layer, not to MySQL framing.
   */
  detachRaw(): Buffer {
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.#onClose);
    this.#socket.off('error', this.#onError);
    this.#onFrame = null;
    this.#onFailure = null;
    const rest = this.#received - this.#taken;
    const all = Buffer.concat(this.#chunks);
    return all.subarray(all.length - rest);
  }

  #take(): Frame | null {
    const f = this.#framer.next();
    if (f !== null) this.#taken += f.length + 4 * f.nPackets;
    return f;
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#received += chunk.length;
    this.#chunks.push(chunk);
    this.#chunkBytes += chunk.length;
    while (this.#chunks.length > 0 && this.#chunkBytes - this.#chunks[0]!.length >= this.#received - this.#taken) this.#chunkBytes -= this.#chunks.shift()!.length;
    this.#framer.push(chunk);
    try {
      if (this.#onFrame !== null) {
        this.#drainPushed();
        return;
      }
      if (this.#waiter !== null) {
        const f = this.#take();
        if (f !== null) {
          const w = this.#waiter;
          this.#waiter = null;
          w.resolve(f);
        }
      }
    } catch (e) {
      this.#fail(e);
    }
  };

  readonly #onClose = (): void => this.#fail(new LegClosed(this.#leg, 'during the handshake'));
  readonly #onError = (e: Error): void => this.#fail(new LegClosed(this.#leg, `(${e.message})`));

  #fail(e: unknown): void {
    if (this.#failure === null) this.#failure = e;
    const w = this.#waiter;
    this.#waiter = null;
    w?.reject(this.#failure);
    this.#onFailure?.(this.#failure);
  }
}
