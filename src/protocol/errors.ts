// ProtocolError: the only error type the protocol codec throws for malformed or unexpected bytes.
// Every parser turns bounds/format problems into this (never RangeError/TypeError), so the session
// layer can map it to ERR 1156/1158 with one `instanceof`/`code` check.

export class ProtocolError extends Error {
  readonly code = 'PROTOCOL_ERROR';
  constructor(
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
