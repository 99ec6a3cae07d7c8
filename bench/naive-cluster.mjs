// The naive relay (bench/naive-relay.mjs) in N worker processes sharing one listening port (node:cluster,
// scheduling left to the kernel): what worker processes give a Node relay on this machine.
// usage: node bench/naive-cluster.mjs <listenPort> <targetPort> <workers>   (127.0.0.1 only; prints `ready`)
import cluster from 'node:cluster';
import net from 'node:net';
const [listenPort, targetPort, workers] = process.argv.slice(2).map(Number);
cluster.schedulingPolicy = cluster.SCHED_NONE;
if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < workers; i++) cluster.fork().on('message', () => { if (++ready === workers) process.stdout.write('ready\n'); });
} else {
  net.createServer({ noDelay: true }, (c) => {
    const s = net.connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
    const end = () => { c.destroy(); s.destroy(); };
    c.pipe(s).pipe(c);
    c.on('error', end).on('close', end);
    s.on('error', end).on('close', end);
  }).listen(listenPort, '127.0.0.1', 4096, () => process.send('ready'));
}
