// A node job for the restart tests: folds numbers with BigInt arithmetic and
// writes one line per step to OUT, yielding to the event loop between steps
// (setImmediate), so a checkpoint lands with libuv's threads, epoll and timers
// live. node's own helper threads block every signal; the library's guard
// keeps the checkpoint signal deliverable.   node count_job.js OUT
'use strict';
const fs = require('fs');
const out = fs.openSync(process.argv[2], 'w');
const STEPS = 120;
let acc = 7n;
let step = 0;
function work() {
  for (let i = 0; i < 150000; ++i) acc = (acc * 6364136223846793005n + BigInt(i + step)) % 18446744073709551557n;
  fs.writeSync(out, `step ${String(step).padStart(3, '0')} acc ${acc.toString(16)}\n`);
  if (++step < STEPS) setTimeout(work, 5);
  else fs.closeSync(out);
}
work();
