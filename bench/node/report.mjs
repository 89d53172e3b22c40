// Turns one run of scripts/bench into bench/results.json and bench/results.md.
//
//   node bench/node/report.mjs RUNS.jsonl MACHINE.json OUT.json OUT.md
//
// RUNS.jsonl holds one line per measurement, {"id":"<what>/<who>[/<n>]","result":{...}}, where
// result is the JSON object the measuring command printed (kakehashi bench ..., or the script's
// own line for PostgreSQL). MACHINE.json describes the machine and its state. Every ratio is
// against the peer measured in the same run; a target that is missed is reported as missed.
// A measurement that is absent (a peer that failed) shows as "—" and its targets as not met.
import { readFileSync, writeFileSync } from 'node:fs';

const [runsPath, machinePath, jsonOut, mdOut] = process.argv.slice(2);
if (!mdOut) {
  process.stderr.write('usage: node report.mjs RUNS.jsonl MACHINE.json OUT.json OUT.md\n');
  process.exit(2);
}

const runs = readFileSync(runsPath, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));
const machine = JSON.parse(readFileSync(machinePath, 'utf8'));
const getAll = (id) => runs.filter((r) => r.id === id).map((r) => r.result);
// A throughput measured more than once counts by its median run (by events_per_sec, the lower
// middle of an even count), with every run's figure kept in events_per_sec_runs: one run of a
// few seconds swings with whatever else the machine does.
const get = (id) => {
  const all = getAll(id);
  if (all.length === 0) return null;
  if (all.length === 1) return all[0];
  const sorted = [...all].sort((a, b) => (a.events_per_sec ?? 0) - (b.events_per_sec ?? 0));
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], events_per_sec_runs: all.map((r) => r.events_per_sec) };
};

const ratio = (a, b) => (a != null && b != null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
const pick = (r, ...keys) =>
  r == null ? null : Object.fromEntries(keys.filter((k) => r[k] != null).map((k) => [k, r[k]]));

// ---- durable appends
const writerCounts = [...new Set(runs.filter((r) => r.id.startsWith('append/')).map((r) => Number(r.id.split('/')[2])))]
  .filter((w) => Number.isFinite(w))
  .sort((a, b) => a - b);
const append = writerCounts.map((w) => {
  const k = get(`append/kakehashi/${w}`);
  const raw = get(`append/raw-rocksdb/${w}`);
  const rawBatched = get(`append/raw-rocksdb-batched/${w}`);
  const pg = get(`append/postgresql/${w}`);
  const keys = ['events', 'events_per_sec', 'events_per_sec_runs', 'p50_ms', 'p99_ms', 'max_ms', 'errors', 'failed'];
  return {
    writers: w,
    kakehashi: pick(k, ...keys, 'stored_bytes_per_event', 'syncs', 'events_per_sync', 'sync_ms_mean', 'sync_ms_max', 'sync_share'),
    raw_rocksdb: pick(raw, ...keys, 'value_bytes'),
    raw_rocksdb_batched: pick(rawBatched, ...keys, 'value_bytes', 'puts_per_batch'),
    postgresql: pick(pg, ...keys),
    ratio_to_postgresql: ratio(k?.events_per_sec, pg?.events_per_sec),
    ratio_to_raw_rocksdb: ratio(k?.events_per_sec, raw?.events_per_sec),
    ratio_to_raw_rocksdb_batched: ratio(k?.events_per_sec, rawBatched?.events_per_sec),
  };
});
const openLoop = get('append-open-loop/kakehashi');

// ---- replay and rebuild
const replayK = get('replay/kakehashi');
const replayPg = get('replay/postgresql');
const rebuildK = get('rebuild/kakehashi');
const rebuildLog = get('rebuild-log/kakehashi');
const replay = {
  events: replayK?.events ?? null,
  kakehashi_replay: replayK?.events_per_sec ?? null,
  raw_rocksdb_scan: replayK?.raw_scan_events_per_sec ?? null,
  postgresql_select: replayPg?.events_per_sec ?? null,
  postgresql_events: replayPg?.events ?? null,
  ratio_to_raw_scan: ratio(replayK?.events_per_sec, replayK?.raw_scan_events_per_sec),
  ratio_to_postgresql: ratio(replayK?.events_per_sec, replayPg?.events_per_sec),
};
const rebuild = {
  events: rebuildK?.events ?? null,
  kakehashi_rebuild: rebuildK?.events_per_sec ?? null,
  kakehashi_replay_same_log: rebuildLog?.events_per_sec ?? null,
  raw_rocksdb_scan_same_log: rebuildLog?.raw_scan_events_per_sec ?? null,
  ratio_to_raw_scan: ratio(rebuildK?.events_per_sec, rebuildLog?.raw_scan_events_per_sec),
  ratio_to_postgresql: ratio(rebuildK?.events_per_sec, replayPg?.events_per_sec),
};

// ---- fan-out
const fanoutLevels = [...new Set(runs.filter((r) => r.id.startsWith('fanout/')).map((r) => r.id.split('/')[2]))];
// latency_from says where p50_ms .. max_ms start: "commit" (Kakehashi: its append's
// committed_at, when the fsync returned) or "publish_due" (the peer: the publish's due time).
// Kakehashi's from_recorded_at_* start before the fsync, as its figures did before it had
// latency_from (absent on such runs).
const fanoutKeys = [
  'subscribers', 'rate', 'seconds', 'events', 'deliveries', 'missing', 'out_of_order',
  'subscribers_ready', 'subscribers_failed', 'deliveries_per_sec', 'latency_from', 'p50_ms', 'p90_ms',
  'p99_ms', 'max_ms', 'from_recorded_at_p50_ms', 'from_recorded_at_p99_ms', 'from_recorded_at_max_ms',
  'deliveries_before_ack', 'before_ack_max_ms', 'deliveries_without_ack', 'server_rss_mb',
  'server_rss_idle_mb',
];
// The clients wait 30 s after the last publish for the rest. The quantiles cover what arrived,
// so with more than 1% of the deliveries missing the p99 of all of them is unknown (beyond the
// wait, or never), not the p99 of what came: it becomes null, p99_beyond_wait true (likewise p90
// past 10%, p50 past half).
function fanoutFigures(r) {
  if (r == null) return null;
  const out = pick(r, ...fanoutKeys);
  const missing = Math.max(r.missing ?? 0, 0);
  const expected = (r.deliveries ?? 0) + missing;
  out.missing_share = expected > 0 ? Math.round((missing / expected) * 1e4) / 1e4 : 0;
  for (const [key, share] of [['p99_ms', 0.01], ['p90_ms', 0.1], ['p50_ms', 0.5]]) {
    if (out.missing_share > share) {
      out[key] = null;
      out[key.replace('_ms', '_beyond_wait')] = true;
      if (out[`from_recorded_at_${key}`] != null) out[`from_recorded_at_${key}`] = null;
    }
  }
  if (out.missing_share > 0) {
    out.max_ms = null;
    if (out.from_recorded_at_max_ms != null) out.from_recorded_at_max_ms = null;
  }
  // Runs of an older `bench fanout`, whose histogram ended at 10 s, put a quantile beyond it in
  // the last bucket: "10 s or more" (true of an exact figure that high too).
  for (const key of ['p50_ms', 'p90_ms', 'p99_ms', 'max_ms']) {
    if (out[key] != null && out[key] >= latencyCapMs) {
      out[key] = null;
      out[key.replace('_ms', '_beyond_cap')] = true;
    }
  }
  return out;
}
const latencyCapMs = 10000;
const p99Of = (r) =>
  r == null ? null : r.p99_beyond_wait || r.p99_beyond_cap ? Infinity : r.p99_ms ?? null;
// A fan-out measured more than once (scripts/bench repeats them on a full run, alternating the
// servers, because a busy machine swings them most): the best run by p99 counts, and every
// run's p99 is kept (p99_ms_runs; null where unknown) to show the spread.
function bestFanout(id) {
  const all = getAll(id).map(fanoutFigures);
  if (all.length === 0) return null;
  const rank = (r) => p99Of(r) ?? Infinity;
  const best = all.reduce((a, b) => (rank(b) < rank(a) ? b : a));
  return { ...best, p99_ms_runs: all.map((r) => (Number.isFinite(rank(r)) ? r.p99_ms : null)) };
}
const fanout = fanoutLevels.map((level) => {
  const k = bestFanout(`fanout/kakehashi/${level}`);
  const n = bestFanout(`fanout/node-ws/${level}`);
  const [subscribers, rate] = level.split('x').map(Number);
  const kp99 = p99Of(k);
  const np99 = p99Of(n);
  return {
    subscribers,
    rate,
    kakehashi: k,
    node_ws: n,
    ratio_throughput_to_node_ws: ratio(k?.deliveries_per_sec, n?.deliveries_per_sec),
    ratio_p99_to_node_ws: Number.isFinite(kp99) && Number.isFinite(np99) ? ratio(kp99, np99) : null,
    p99_lower_than_node_ws: kp99 != null && np99 != null && kp99 !== Infinity ? kp99 < np99 : false,
  };
});

// ---- targets (issue 8, and issue 2's and 5's absolute ones)
const targets = [];
// unit: how `value` reads: 'x' (a ratio), 'ms' or 'events/s'. note: shown instead of the value;
// context: shown after it.
const target = (name, wanted, value, met, unit = 'x', note = undefined, context = undefined) =>
  targets.push({ name, target: wanted, value, unit, met: Boolean(met), ...(note ? { note } : {}),
    ...(context ? { context } : {}) });
const at64 = append.find((a) => a.writers === 64);
target('durable appends at 64 writers vs PostgreSQL', '>= 5x', at64?.ratio_to_postgresql ?? null,
  (at64?.ratio_to_postgresql ?? 0) >= 5);
// Against the stronger of the two raw baselines: one writer's 64-put synced batches.
target('durable appends at 64 writers vs raw RocksDB, 64 puts per synced batch', '>= 0.5x',
  at64?.ratio_to_raw_rocksdb_batched ?? null, (at64?.ratio_to_raw_rocksdb_batched ?? 0) >= 0.5);
// What the disk allowed in the same run: RocksDB alone, with no engine, writing 64 puts per synced
// batch, the most a sync can carry for 64 closed-loop writers.
const rawBatched64 = at64?.raw_rocksdb_batched?.events_per_sec;
target('durable appends at 64 writers', '>= 100,000 events/s', at64?.kakehashi?.events_per_sec ?? null,
  (at64?.kakehashi?.events_per_sec ?? 0) >= 100000, 'events/s', undefined,
  rawBatched64 == null ? undefined
    : `raw RocksDB, 64 puts per synced batch: ${Math.round(rawBatched64).toLocaleString('en-US')}`);
target('append p99 at half the 64-writer peak, open loop', '<= 5 ms', openLoop?.p99_ms ?? null,
  (openLoop?.p99_ms ?? Infinity) <= 5, 'ms');
target('replay vs raw RocksDB scan', '>= 0.5x', replay.ratio_to_raw_scan, (replay.ratio_to_raw_scan ?? 0) >= 0.5);
target('replay', '>= 1,000,000 events/s', replay.kakehashi_replay, (replay.kakehashi_replay ?? 0) >= 1e6, 'events/s');
target('rebuild', '>= 500,000 events/s', rebuild.kakehashi_rebuild, (rebuild.kakehashi_rebuild ?? 0) >= 5e5, 'events/s');
for (const f of fanout) {
  const k = f.kakehashi;
  const n = f.node_ws;
  const label = `fan-out ${f.subscribers} subscribers x ${f.rate} events/s`;
  // "At least Node ws's throughput": the same deliveries per second within 2% (at an offered
  // rate both keep up with, both deliver exactly the offered load; noise decides the rest),
  // and nothing missing.
  target(`${label}: throughput vs Node ws`, '>= 1x (within 2%)', f.ratio_throughput_to_node_ws,
    (f.ratio_throughput_to_node_ws ?? 0) >= 0.98 && (k?.missing ?? 1) === 0);
  const beyond = [p99Of(k) === Infinity && 'Kakehashi', p99Of(n) === Infinity && 'Node ws'].filter(Boolean);
  target(`${label}: p99 vs Node ws`, 'lower', f.ratio_p99_to_node_ws, f.p99_lower_than_node_ws, 'x',
    beyond.length ? `p99 beyond the 30 s wait or 10 s: ${beyond.join(', ')}` : undefined);
  if (f.subscribers >= 1000 && f.rate === 500) {
    target(`${label}: p99 (issue 5)`, '<= 50 ms', k?.p99_ms ?? null, (k?.p99_ms ?? Infinity) <= 50, 'ms');
  }
}

const results = {
  generated_at: machine.finished_at ?? new Date().toISOString(),
  mode: machine.mode,
  machine,
  append,
  append_open_loop: openLoop,
  replay,
  rebuild,
  fanout,
  targets,
  runs,
};
writeFileSync(jsonOut, JSON.stringify(results, null, 2) + '\n');

// ---- markdown
const int = (v) => (v == null ? '—' : Math.round(v).toLocaleString('en-US'));
const ms = (v) => (v == null ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const x = (v) => (v == null ? '—' : `${v.toFixed(2)}×`);
const rate = (r) => (r == null ? '—' : `${int(r.events_per_sec)} (${ms(r.p50_ms)} / ${ms(r.p99_ms)})`);
const lines = [];
const m = machine;
lines.push(`Run ${m.finished_at} (\`scripts/bench${m.mode === 'quick' ? ' --quick' : ''}\`, ${m.seconds} s) ` +
  `at commit \`${m.commit}\` on ${m.cpu} (${m.nproc} cores), ${m.memory_gb} GB RAM, ` +
  `${m.os}, kernel ${m.kernel}; data on ${m.filesystem}. ` +
  `Machine state: ${m.state}. Peers: ${m.versions}.`);
lines.push('');
const repeated = (id) => getAll(id).length;
const medianNote = (n) => (n > 1 ? ` Measured ${n} times each, the median run shown (all runs in results.json).` : '');
lines.push('Durable appends, 300-byte payloads, each acknowledged only once synced; events/s (p50 / p99 ms).' +
  medianNote(repeated('append/kakehashi/64')) + ' PostgreSQL runs once per row.');
lines.push('');
lines.push('| writers | Kakehashi | raw RocksDB, W writers, 1 put per synced batch | raw RocksDB, 1 writer, W puts per synced batch | PostgreSQL 15, pgbench | × PostgreSQL | × raw RocksDB (W writers / batched) | Kakehashi WAL syncs: events each, mean ms, share of the run |');
lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
// The disk's share of Kakehashi's figure: at 64 closed-loop writers no sync can carry more than
// 64 events, so the sync time bounds the rate.
const syncs = (r) => (r?.sync_ms_mean == null ? '—'
  : `${r.events_per_sync.toFixed(1)}, ${r.sync_ms_mean.toFixed(3)}, ${Math.round(r.sync_share * 100)}%`);
for (const a of append) {
  // With one writer the two raw baselines are the same run.
  const batched = a.writers > 1 ? a.raw_rocksdb_batched : a.raw_rocksdb;
  const batchedRatio = a.writers > 1 ? a.ratio_to_raw_rocksdb_batched : a.ratio_to_raw_rocksdb;
  lines.push(`| ${a.writers} | ${rate(a.kakehashi)} | ${rate(a.raw_rocksdb)} | ${rate(batched)} | ` +
    `${rate(a.postgresql)} | ${x(a.ratio_to_postgresql)} | ${x(a.ratio_to_raw_rocksdb)} / ${x(batchedRatio)} | ` +
    `${syncs(a.kakehashi)} |`);
}
if (openLoop) {
  lines.push('');
  lines.push(`Kakehashi open loop at ${int(openLoop.target_rate)} appends/s (half the 64-writer peak): ` +
    `p50 ${ms(openLoop.p50_ms)} ms, p99 ${ms(openLoop.p99_ms)} ms.`);
}
lines.push('');
lines.push('Reading the whole log back, events/s.' + medianNote(repeated('replay/kakehashi')));
lines.push('');
lines.push('| read | events | events/s | × raw RocksDB scan | × PostgreSQL |');
lines.push('|---|---:|---:|---:|---:|');
lines.push(`| Kakehashi \`bench replay\` (decodes every envelope) | ${int(replay.events)} | ${int(replay.kakehashi_replay)} | ` +
  `${x(replay.ratio_to_raw_scan)} | ${x(replay.ratio_to_postgresql)} |`);
lines.push(`| raw RocksDB scan of the same log | ${int(replay.events)} | ${int(replay.raw_rocksdb_scan)} | 1.00× | — |`);
lines.push(`| PostgreSQL \`SELECT ... ORDER BY position\` (psql, FETCH_COUNT 10000) | ${int(replay.postgresql_events)} | ` +
  `${int(replay.postgresql_select)} | — | 1.00× |`);
lines.push(`| Kakehashi \`bench rebuild\` (folds the read model; domain events) | ${int(rebuild.events)} | ` +
  `${int(rebuild.kakehashi_rebuild)} | ${x(rebuild.ratio_to_raw_scan)} | ${x(rebuild.ratio_to_postgresql)} |`);
lines.push(`| raw RocksDB scan of the rebuild's log | ${int(rebuild.events)} | ${int(rebuild.raw_rocksdb_scan_same_log)} | 1.00× | — |`);
lines.push('');
const oldKakehashi = fanout.some((f) => f.kakehashi && f.kakehashi.latency_from !== 'commit');
lines.push('Fan-out over WebSockets to subscribers on one machine, latency from commit (Kakehashi: ' +
  'when its fsync returned) or publish (Node `ws`: its due time) to receipt' +
  (oldKakehashi ? ' (Kakehashi runs without "latency_from":"commit": from before its fsync)' : '') +
  '; of repeated runs the one with the best p99 (all of them in the last column):');
lines.push('');
lines.push('| subscribers × events/s | server | deliveries/s | p50 ms | p99 ms | max ms | server RSS MB | missing | × Node ws deliveries/s | × Node ws p99 | p99 ms of each run |');
lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const f of fanout) {
  for (const [name, r] of [['Kakehashi', f.kakehashi], ['Node `ws`', f.node_ws]]) {
    const own = name === 'Kakehashi';
    const q = (key) => (r?.[`${key}_beyond_wait`] ? '> wait' : r?.[`${key}_beyond_cap`] ? '≥ 10 s' : ms(r?.[`${key}_ms`]));
    lines.push(`| ${f.subscribers} × ${f.rate} | ${name} | ${int(r?.deliveries_per_sec)} | ${q('p50')} | ` +
      `${q('p99')} | ${q('max')} | ${r?.server_rss_mb == null ? '—' : r.server_rss_mb.toFixed(0)} | ` +
      `${r?.missing ?? '—'} | ${own ? x(f.ratio_throughput_to_node_ws) : ''} | ${own ? x(f.ratio_p99_to_node_ws) : ''} | ` +
      `${(r?.p99_ms_runs ?? []).map((v) => (v == null ? 'unknown' : ms(v))).join(', ')} |`);
  }
}
if (fanout.some((f) => f.kakehashi?.missing || f.node_ws?.missing)) {
  lines.push('');
  lines.push('"> wait": more than 1% of the deliveries had not arrived 30 s after the last publish, ' +
    'so the p99 is beyond that wait (the figures of what did arrive are in results.json\'s runs).');
}
lines.push('');
lines.push('Targets:');
lines.push('');
lines.push('| target | wanted | measured | met |');
lines.push('|---|---|---:|---|');
for (const t of targets) {
  const value = t.note ? t.note : t.value == null ? '—' : t.unit === 'x' ? x(t.value) : t.unit === 'ms' ? `${ms(t.value)} ms` : int(t.value);
  const context = t.context ? ` (${t.context})` : '';
  lines.push(`| ${t.name} | ${t.target} | ${value}${context} | ${t.met ? 'yes' : '**no**'} |`);
}
writeFileSync(mdOut, lines.join('\n') + '\n');
