// Egress proxy cost (SPEC 5.1 target: >= 80% of direct loopback throughput, first byte
// < 1 ms extra). A 256 MiB download from a loopback HTTP server, by curl inside a
// sandbox: directly (`.net()` sharing nothing, forwarding the server in with `expose`
// is not the same path, so the direct case runs curl without a network namespace),
// then through `.net({ egress })`. First byte: curl's time_starttransfer of a tiny
// response, median of 30. Run: node bench/egress.mjs (root or not).
import http from 'node:http';
import { fork } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import { sandbox } from '../dist/index.js';

const SIZE = 256 * 1024 * 1024;
const chunk = Buffer.alloc(1024 * 1024, 'x');
const server = http.createServer((q, r) => {
  if (q.url === '/tiny') return r.end('x');
  r.writeHead(200, { 'content-length': SIZE });
  let left = SIZE / chunk.length;
  const more = () => {
    while (left > 0) {
      left--;
      if (!r.write(chunk)) return void r.once('drain', more);
    }
    r.end();
  };
  more();
});
// The server runs in a process of its own, as a remote server would: in this one it
// would share the event loop with the proxy and halve both.
if (process.argv[2] === 'server') {
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function main() {
const child = fork(new URL(import.meta.url).pathname, ['server']);
const port = await new Promise((r) => child.once('message', r));
const url = `http://127.0.0.1:${port}`;
const fmt = '%{speed_download} %{time_starttransfer}';

async function curl(sb, path, proxy) {
  const args = ['-sS', '-o', '/dev/null', '-w', fmt, ...(proxy ? ['--noproxy', '', '-x', 'http://127.0.0.1:3128'] : []), `${url}${path}`];
  const r = await sb.run('curl', args);
  const [speed, ttfb] = r.stdout.trim().split(' ').map(Number);
  return { speed, ttfb };
}
const direct = sandbox().pid();
const proxied = sandbox().net({ egress: { allow: [`127.0.0.1:${port}`] } });
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];

const rounds = 3;
const d = [], p = [];
for (let i = 0; i < rounds; i++) {
  d.push((await curl(direct, '/big', false)).speed);
  p.push((await curl(proxied, '/big', true)).speed);
}
const td = [], tp = [];
for (let i = 0; i < 30; i++) {
  td.push((await curl(direct, '/tiny', false)).ttfb);
  tp.push((await curl(proxied, '/tiny', true)).ttfb);
}
const mb = (x) => (x / 1e6).toFixed(0);
console.log(`download ${SIZE >> 20} MiB, median of ${rounds}: direct ${mb(median(d))} MB/s, through egress proxy ${mb(median(p))} MB/s (${((median(p) / median(d)) * 100).toFixed(0)}%)`);
console.log(`first byte, median of 30: direct ${(median(td) * 1000).toFixed(2)} ms, proxied ${(median(tp) * 1000).toFixed(2)} ms (+${((median(tp) - median(td)) * 1000).toFixed(2)} ms)`);
child.disconnect();
}
