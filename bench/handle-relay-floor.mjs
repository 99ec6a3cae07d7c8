// The floor of any relay written in JavaScript on Node: libuv TCP handles driven directly (no net.Socket,
// no streams, no events), each read written to the other handle at once. Measures what Node itself costs
// per round trip, for issue 7's "≥ 0.9× HAProxy" line. No back-pressure and no error handling beyond
// closing both handles: a measuring instrument for small request/response traffic, not a relay to use.
// usage: node bench/handle-relay-floor.mjs <listenPort> <targetPort>   (127.0.0.1 only)
// process.binding is deprecated, but it is the public door to these handles; silence its one warning.
import { Buffer } from 'node:buffer';
import process from 'node:process';

process.noDeprecation = true;
const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
const { WriteWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset } = process.binding('stream_wrap');
const [listenPort, targetPort] = process.argv.slice(2).map(Number);

function closeBoth(a, b) {
  for (const h of [a, b]) {
    if (h.closed) continue;
    h.closed = true;
    h.close();
  }
}

function pump(from, to) {
  from.onread = (arrayBuffer) => {
    const n = streamBaseState[kReadBytesOrError];
    if (n <= 0) {
      if (n < 0) closeBoth(from, to);
      return;
    }
    const buf = Buffer.from(arrayBuffer, streamBaseState[kArrayBufferOffset], n);
    const req = new WriteWrap();
    req.handle = to;
    req.oncomplete = () => {};
    req.async = false;
    req.buffer = buf; // kept alive until the write completes, should it go asynchronous
    if (to.writeBuffer(req, buf) !== 0) closeBoth(from, to);
  };
  from.readStart();
}

const server = new TCP(constants.SERVER);
server.onconnection = (err, client) => {
  if (err !== 0) return;
  client.setNoDelay(true);
  const upstream = new TCP(constants.SOCKET);
  const req = new TCPConnectWrap();
  req.oncomplete = (status) => {
    if (status !== 0) return closeBoth(client, upstream);
    upstream.setNoDelay(true);
    pump(client, upstream);
    pump(upstream, client);
  };
  if (upstream.connect(req, '127.0.0.1', targetPort) !== 0) closeBoth(client, upstream);
};
if (server.bind('127.0.0.1', listenPort) !== 0 || server.listen(4096) !== 0) {
  process.stderr.write(`cannot listen on 127.0.0.1:${listenPort}\n`);
  process.exit(1);
}
process.stdout.write('ready\n');
