// Tries to escape through what Node.js offers (?do=...): the isolation suite checks each attempt
// is contained. Answers JSON {result: ...} with what Node.js and the kernel said.
const childProcess = require('child_process');
const fs = require('fs');
const net = require('net');

const attempt = (f) => {
  try {
    return f();
  } catch (err) {
    return err.code || err.message;
  }
};

exports.handler = async (event) => {
  const q = event.queryStringParameters || {};
  switch (q.do) {
    case 'whoami':
      return { uid: process.getuid(), pid: process.pid, ppid: process.ppid, cwd: process.cwd() };
    case 'write':
      return {
        code: attempt(() => fs.writeFileSync(`${__dirname}/planted.js`, 'x')),
        etc: attempt(() => fs.writeFileSync('/etc/flint-planted', 'x')),
        root: attempt(() => fs.mkdirSync('/planted')),
        tmp: attempt(() => { fs.writeFileSync('/tmp/ok', 'ok'); return fs.readFileSync('/tmp/ok', 'utf8'); }),
      };
    case 'read':
      return {
        shadow: attempt(() => fs.readFileSync('/etc/shadow', 'utf8').length),
        processes: fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length,
      };
    case 'kill-parent':
      return { result: attempt(() => process.kill(process.ppid, 'SIGKILL')) };
    case 'kill-flintd':
      return { result: attempt(() => process.kill(Number(q.arg), 'SIGKILL')) };
    case 'exec':
      return { result: attempt(() => childProcess.execFileSync('/bin/sh', ['-c', 'id -u; ls /proc | grep -c "^[0-9]"'], { encoding: 'utf8' })) };
    case 'kill-all':
      // Every process this user may signal: only the sandbox's own, the worker among them.
      return { result: attempt(() => childProcess.execSync('kill -9 -1; sleep 1', { encoding: 'utf8' })) };
    case 'fork-bomb': {
      // Children until the kernel refuses one (the cgroup's pids limit), then all killed.
      const children = [];
      let refused = null;
      for (let i = 0; i < 200 && refused === null; i++) {
        const child = childProcess.spawn('/bin/sleep', ['5']);
        children.push(child);
        refused = await new Promise((r) => {
          child.on('error', (e) => r(e.code || e.message));
          child.on('spawn', () => r(null));
        });
      }
      // Reaped before the answer: a killed child holds its place under the pids limit until
      // then, and the next call's own spawn would be refused.
      const started = children.filter((c) => c.pid !== undefined);
      await Promise.all(started.map((c) => new Promise((r) => {
        if (c.exitCode !== null || c.signalCode !== null) return r();
        c.on('exit', () => r());
        c.kill('SIGKILL');
      })));
      return { spawned: started.length, refused };
    }
    case 'connect':
      return { result: await new Promise((r) => {
        const s = net.connect(Number(q.arg), '127.0.0.1', () => { s.destroy(); r('connected'); });
        s.on('error', (e) => r(e.code));
      }) };
    case 'exit':
      process.exit(7);
      break;
    case 'buffers': {
      const hoard = [];
      for (;;) hoard.push(Buffer.alloc(1 << 20, 1));
    }
    default:
      return { result: 'ok' };
  }
  return { result: 'unreachable' };
};
