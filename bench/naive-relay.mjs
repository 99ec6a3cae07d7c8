// The floor any Node relay can reach: socket.pipe both ways, nothing else.
// usage: node bench/naive-relay.mjs <listenPort> <targetPort>   (127.0.0.1 only)
import net from 'node:net';
import process from 'node:process';
const [listenPort, targetPort] = process.argv.slice(2).map(Number);
net.createServer({ noDelay: true }, (c) => {
  const s = net.connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
  const end = () => { c.destroy(); s.destroy(); };
  c.pipe(s).pipe(c);
  c.on('error', end).on('close', end);
  s.on('error', end).on('close', end);
}).listen(listenPort, '127.0.0.1', 4096, () => process.stdout.write('ready\n'));
