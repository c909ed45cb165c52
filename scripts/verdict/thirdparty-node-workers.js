// SPDX-License-Identifier: GPL-2.0
//
// Node's event loop is libuv's: every wakeup from another thread (a worker's
// message, a thread-pool job done) is uv_async_send(), which writes the
// loop's eventfd. Run by scripts/verdict/guest-thirdparty on eventfd and on
// pollcount (LD_PRELOAD), it drives those wakeups and prints KTAP.
'use strict';
const fs = require('fs');
const { Worker } = require('worker_threads');

const results = [];
const report = () => {
  console.log('TAP version 13');
  console.log(`1..${results.length}`);
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try { target = fs.readlinkSync(`/proc/self/fd/${fd}`); } catch (e) { continue; }
    if (/\[(eventfd|pollcount)\]/.test(target)) console.log(`# fd ${fd}: ${target}`);
  }
  results.forEach(([ok, name], i) => console.log(`${ok ? 'ok' : 'not ok'} ${i + 1} ${name}`));
  process.exitCode = results.every(([ok]) => ok) ? 0 : 1;
};

// 1. 500 round trips with a worker thread: each message wakes the other
// side's loop.
const ROUNDS = 500;
const worker = new Worker(`
  const { parentPort } = require('worker_threads');
  parentPort.on('message', (n) => parentPort.postMessage(n + 1));
`, { eval: true });
let expected = 0;
const timer = setTimeout(() => { results.push([false, `worker ping-pong: stuck at ${expected}`]); worker.terminate(); }, 120000);
worker.on('message', (n) => {
  if (n !== expected + 1) {
    results.push([false, `worker ping-pong: got ${n} after ${expected}`]);
    worker.terminate();
    return;
  }
  expected = n + 1;
  if (expected >= 2 * ROUNDS) {
    clearTimeout(timer);
    results.push([true, `worker ping-pong: ${ROUNDS} round trips in order`]);
    worker.terminate().then(threadPool);
    return;
  }
  worker.postMessage(expected);
});
worker.postMessage(0);

// 2. 200 reads on libuv's thread pool at once: each completion wakes the
// main loop.
function threadPool() {
  const N = 200;
  let done = 0, bad = 0;
  for (let i = 0; i < N; i++) {
    fs.readFile('/proc/self/stat', (err, data) => {
      if (err || !data.length) bad++;
      if (++done === N) {
        results.push([bad === 0, `thread pool: ${N} reads completed, ${bad} failed`]);
        report();
      }
    });
  }
}
