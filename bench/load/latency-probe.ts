// A fixed-rate client: sends RATE requests per second, evenly spaced, over at
// most CONNECTIONS keep-alive connections for SECONDS, then reports p50/p99 of
// send-to-last-byte times (µs resolution) to the parent.
import http from 'node:http';

const url = process.env.URL!;
const rate = Number(process.env.RATE);
const seconds = Number(process.env.SECONDS);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(process.env.CONNECTIONS) });

const samples: number[] = [];
let errors = 0;
let sent = 0;
let finished = 0;
const interval = 1000 / rate;
const started = performance.now();
const end = started + seconds * 1000;

function send() {
  const t0 = performance.now();
  sent += 1;
  http
    .get(url, { agent }, (res) => {
      if (res.statusCode !== 200) errors += 1;
      res.resume();
      res.on('end', () => {
        samples.push(performance.now() - t0);
        settle();
      });
    })
    .on('error', () => {
      errors += 1;
      settle();
    });
}

function settle() {
  finished += 1;
  if (performance.now() >= end && finished === sent) report();
}

function report() {
  const sorted = samples.sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  const elapsed = (performance.now() - started) / 1000;
  process.send!({ p50Ms: at(50), p99Ms: at(99), rate: samples.length / elapsed, errors }, () => process.exit(0));
}

// A 1 ms tick sends whatever is due, so the schedule does not drift with timer lag.
const timer = setInterval(() => {
  const now = performance.now();
  const due = Math.floor((Math.min(now, end) - started) / interval);
  while (sent < due) send();
  if (now >= end) {
    clearInterval(timer);
    if (finished === sent) report();
  }
}, 1);
process.on('disconnect', () => process.exit(0));
