// Turns a results object into the checks against the targets and a Markdown table.

const TARGET_A_B = 0.95;
const TARGET_A_C = 2;
const TARGET_RSS_MB = 256;
const TARGET_IO_SCALING = 8;
const TARGET_STOP_MS = 1_000;

function fmt(n, digits = 0) {
  return Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
}

function ratio(a, b) {
  return a?.perSecond && b?.perSecond ? a.perSecond / b.perSecond : NaN;
}

/** PASS or MISS against a target; n/a when the measurement did not run. */
function verdict(value, ok) {
  if (!Number.isFinite(value)) return 'n/a';
  return ok(value) ? 'PASS' : 'MISS';
}

/** The checks, each `{ name, value, target, verdict }`; `verdict` is empty for figures only reported. */
export function checks(results) {
  const { karafka, kafkajs, microservices, java, heapCapped, io = {}, latency, lifecycle } = results;
  const ab = ratio(karafka, kafkajs);
  const ac = ratio(karafka, microservices);
  const ioScaling = ratio(io[10], io[1]);
  const rss = karafka?.peakRssMb;
  const capped = heapCapped?.peakRssMb;
  const stop = lifecycle?.stopMs;
  return [
    {
      name: 'a/b (vs raw kafkajs eachBatch)',
      value: fmt(ab, 2),
      target: `>= ${TARGET_A_B}`,
      verdict: verdict(ab, (v) => v >= TARGET_A_B),
    },
    {
      name: 'CPU per message, (a) over (b)',
      value: fmt(karafka?.cpuUsPerMessage / kafkajs?.cpuUsPerMessage, 2),
      target: 'reported',
      verdict: '',
    },
    {
      name: 'a/c (vs @nestjs/microservices)',
      value: fmt(ac, 2),
      target: `>= ${TARGET_A_C}`,
      verdict: verdict(ac, (v) => v >= TARGET_A_C),
    },
    {
      name: 'a/d (vs Java ConsumerPerformance)',
      value: fmt(ratio(karafka, java), 2),
      target: 'reported',
      verdict: '',
    },
    {
      name: 'peak RSS of (a) draining the backlog',
      value: `${fmt(rss)} MB`,
      target: `< ${TARGET_RSS_MB} MB`,
      verdict: verdict(rss, (v) => v < TARGET_RSS_MB),
    },
    {
      name: 'peak RSS of (b) raw kafkajs, same backlog',
      value: `${fmt(kafkajs?.peakRssMb)} MB`,
      target: 'reported',
      verdict: '',
    },
    {
      name: 'peak RSS of (a) under --max-old-space-size=256',
      value: `${fmt(capped)} MB at ${fmt(heapCapped?.perSecond)} msg/s`,
      target: `< ${TARGET_RSS_MB} MB`,
      verdict: verdict(capped, (v) => v < TARGET_RSS_MB),
    },
    {
      name: 'simulated I/O: concurrency 10 / 1',
      value: fmt(ioScaling, 2),
      target: `>= ${TARGET_IO_SCALING}`,
      verdict: verdict(ioScaling, (v) => v >= TARGET_IO_SCALING),
    },
    {
      name: 'stop of an idle app with 3 routes',
      value: `${fmt(stop)} ms`,
      target: `< ${TARGET_STOP_MS} ms`,
      verdict: verdict(stop, (v) => v < TARGET_STOP_MS),
    },
    {
      name: `end-to-end latency at ${fmt(latency?.rate)} msg/s, p50 / p99`,
      value: `${fmt(latency?.p50)} / ${fmt(latency?.p99)} ms`,
      target: 'reported',
      verdict: '',
    },
    {
      name: 'of which fetched to consume (in the engine), p50 / p99',
      value: `${fmt(latency?.engineP50)} / ${fmt(latency?.engineP99)} ms`,
      target: 'reported',
      verdict: '',
    },
    {
      name: 'boot to first message, 3 routes',
      value: `${fmt(lifecycle?.bootToFirstMessageMs)} ms`,
      target: 'reported',
      verdict: '',
    },
  ];
}

/** The Markdown tables the run prints and the README shows. */
export function table(results) {
  const { karafka, kafkajs, microservices, java, heapCapped, io = {} } = results;
  const runs = (r) => {
    if (r?.error) return `error: ${r.error}`;
    if (!r) return 'not run';
    return r.runs ? r.runs.map((n) => fmt(n)).join(', ') : 'one run';
  };
  const row = (label, r) =>
    `| ${label} | ${fmt(r?.perSecond)} | ${runs(r)} | ${fmt(r?.cpuUsPerMessage, 2)} | ${fmt(r?.peakRssMb)} |`;
  const lines = [
    '| system | messages/s (median) | runs | CPU µs/message | peak RSS MB |',
    '| --- | ---: | --- | ---: | ---: |',
    row('(a) nestjs-karafka, pass-through batch consumer', karafka),
    row('(b) raw kafkajs eachBatch, autoCommit', kafkajs),
    row('(c) @nestjs/microservices Transport.KAFKA, @EventPattern', microservices),
    row('(d) Kafka ConsumerPerformance (Java, fetch rate)', java),
    row('(a) under --max-old-space-size=256', heapCapped),
    ...[1, 5, 10].map((c) => row(`simulated I/O 1 ms/message, 10 partitions, concurrency ${c}`, io[c])),
    '',
    '| check | value | target | |',
    '| --- | ---: | --- | --- |',
    ...checks(results).map((c) => `| ${c.name} | ${c.value} | ${c.target} | ${c.verdict} |`),
  ];
  return lines;
}
