// `node --import bench/lib/cpu-prof-hook.mjs`: a V8 CPU profile of the whole process, written to
// $SLUICE_CPU_PROF_DIR/<pid>.cpuprofile on exit (`--cpu-prof` itself is not allowed in NODE_OPTIONS,
// and bench/ab.ts passes flags to relays only that way). The main thread's inspector session answers
// synchronously, so the 'exit' handler can stop the profiler and write the file.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.SLUICE_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
