// The naive relay (bench/naive-relay.mjs) in N worker processes sharing one listening port (node:cluster,
// scheduling left to the kernel): what worker processes give a Node relay on this machine.
// usage: node bench/naive-cluster.mjs <listenPort> <targetPort> <workers>   (127.0.0.1 only; prints `ready`)
import cluster from 'node:cluster';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
const [listenPort, targetPort, workers] = process.argv.slice(2);
cluster.schedulingPolicy = cluster.SCHED_NONE;
cluster.setupPrimary({ exec: fileURLToPath(new URL('./naive-relay.mjs', import.meta.url)), args: [listenPort, targetPort], silent: true });
let listening = 0;
cluster.on('listening', () => {
  if (++listening === Number(workers)) process.stdout.write('ready\n');
});
for (let i = 0; i < Number(workers); i++) cluster.fork();
