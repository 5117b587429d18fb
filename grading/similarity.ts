import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RAFTOS_FILE, textOf, type SubmissionFiles } from './lab-files';

/**
 * Copied or fabricated submissions: pairs whose lab artifacts (task files and raftos's .log, .storage and
 * .state_machine) are suspiciously alike. Real runs differ in terms, votes and timings, so identical files,
 * the same terms and votes in every .storage, and logs with the same term numbers are worth the instructor's
 * look. A report only: it never changes a score.
 *
 * Each submission is reduced once to a small fingerprint (file hashes, storage and log-term signatures, a
 * MinHash of its normalized lines); candidate pairs come from hash buckets (same file, same signature, same
 * MinHash band), never from comparing every pair, and only candidates are compared exactly.
 */

/** The artifacts compared; the programs (1.py...) are left out: the manual gives every student the same code. */
export const ARTIFACT_NAME = new RegExp(`^task[23]_node[1-9]\\.txt$|${RAFTOS_FILE.source}`);

export interface ArtifactFingerprint {
  /** Artifact name -> hash of its normalized text. */
  readonly files: ReadonlyMap<string, string>;
  /** The terms and votes of every .storage, by file; null when there is no .storage or one does not parse. */
  readonly storage: string | null;
  /** The term of every entry of every .log, by file; null when no log holds an entry. */
  readonly logTerms: string | null;
  /** Normalized lines, each numbered by its occurrence in its file ("name\0line\0k"). */
  readonly lines: ReadonlySet<string>;
  readonly minhash: readonly number[];
}

export interface SimilarPair {
  readonly a: string;
  readonly b: string;
  /** Artifacts identical in both (after normalizing line ends, spaces and JSON spacing). */
  readonly identical: readonly string[];
  /** Artifacts in either submission. */
  readonly artifacts: number;
  /** Artifacts in either submission that are not identical in both. */
  readonly differing: readonly string[];
  /** |lines in both| / |lines in either|, over normalized, occurrence-numbered lines. */
  readonly jaccard: number;
  readonly sameStorage: boolean;
  readonly sameLogTerms: boolean;
}

export interface SharedGroup {
  /** What they share: a file name, "storage" or "log terms". */
  readonly what: string;
  readonly submissions: readonly string[];
}

export interface SimilarityReport {
  readonly submissions: number;
  readonly pairs: readonly SimilarPair[];
  /** Buckets too large to expand into pairs (more than `maxBucket` submissions share the same thing). */
  readonly groups: readonly SharedGroup[];
  readonly candidatesCompared: number;
}

export interface SimilarityOptions {
  /** A pair is listed with at least this many identical artifacts, not counting .state_machine files (default 3)... */
  readonly minIdentical?: number;
  /** ... that are at least this share of the artifacts in either (default 0.6), */
  readonly minIdenticalShare?: number;
  /** or with at least this line Jaccard (default 0.8), or with the same .storage terms and votes and the same log terms. */
  readonly minJaccard?: number;
  /** A bucket of more submissions than this is reported as a group, not as pairs (default 50). */
  readonly maxBucket?: number;
}

const KINDS: readonly [RegExp, string][] = [
  [/^task2_/, 'every task2_nodeN.txt'],
  [/^task3_/, 'every task3_nodeN.txt'],
  [/\.log$/, 'every .log'],
  [/./, 'every artifact'],
];

/** Lines kept per submission for the comparison (a batch keeps every fingerprint in memory). */
const MAX_LINES = 20_000;

const MINHASH_BANDS = 6;
const MINHASH_ROWS = 5;

// ---- Fingerprints ----

function normalizedLines(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    out.push(canonicalJsonLine(line) ?? line.replace(/\s+/g, ' '));
  }
  return out;
}

/** ujson's compact JSON and Python json's spaced JSON are the same line. */
function canonicalJsonLine(line: string): string | null {
  if (!/^[[{]/.test(line)) return null;
  try {
    return JSON.stringify(sortKeys(JSON.parse(line)));
  } catch {
    return null;
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeys(o[k])]));
  }
  return v;
}

function jsonOf(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** One submission's fingerprint: a pure function of its files (undecodable files are left out). */
export function fingerprintArtifacts(files: SubmissionFiles): ArtifactFingerprint {
  const hashes = new Map<string, string>();
  const lines = new Set<string>();
  const storage: string[] = [];
  const logTerms: string[] = [];
  let storageOk = true;
  let entries = 0;
  for (const name of [...files.keys()].filter((n) => ARTIFACT_NAME.test(n)).sort()) {
    const text = textOf(files, name);
    if (text === null || !text.ok) continue;
    const normalized = normalizedLines(text.text);
    hashes.set(name, createHash('sha256').update(normalized.join('\n')).digest('hex').slice(0, 32));
    const seen = new Map<string, number>();
    for (const l of normalized) {
      if (lines.size >= MAX_LINES) break;
      const k = (seen.get(l) ?? 0) + 1;
      seen.set(l, k);
      lines.add(`${name}\0${l}\0${k}`);
    }
    if (name.endsWith('.storage')) {
      const s = jsonOf(normalized[0] ?? '{}') as { term?: unknown; voted_for?: unknown } | undefined;
      if (s === undefined || typeof s !== 'object' || s === null) storageOk = false;
      else storage.push(`${name}:${String(s.term)}/${String(s.voted_for)}`);
    } else if (name.endsWith('.log')) {
      const terms = normalized.map((l) => (jsonOf(l) as { term?: unknown } | undefined)?.term).map((t) => String(t));
      entries += terms.length;
      logTerms.push(`${name}:${terms.join(',')}`);
    }
  }
  return {
    files: hashes,
    storage: storageOk && storage.length > 0 ? storage.join(' ') : null,
    logTerms: entries > 0 ? logTerms.join(' ') : null,
    lines,
    minhash: minhash(lines),
  };
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix(x: number, seed: number): number {
  let h = (x ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const SEEDS = Array.from({ length: MINHASH_BANDS * MINHASH_ROWS }, (_, i) => fnv1a(`raftlab-minhash-${i}`));

function minhash(lines: ReadonlySet<string>): number[] {
  const mins = SEEDS.map(() => 0xffffffff);
  for (const l of lines) {
    const x = fnv1a(l);
    for (let i = 0; i < SEEDS.length; i++) {
      const h = mix(x, SEEDS[i]!);
      if (h < mins[i]!) mins[i] = h;
    }
  }
  return mins;
}

// ---- Pairs ----

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let both = 0;
  for (const x of small) if (large.has(x)) both++;
  return both / (a.size + b.size - both);
}

/** Compare the submissions' fingerprints: the pairs worth a look, strongest first. */
export function compareFingerprints(subs: readonly { readonly id: string; readonly fingerprint: ArtifactFingerprint }[], options: SimilarityOptions = {}): SimilarityReport {
  const minIdentical = options.minIdentical ?? 3;
  const minJaccard = options.minJaccard ?? 0.8;
  const minIdenticalShare = options.minIdenticalShare ?? 0.6;
  const maxBucket = options.maxBucket ?? 50;
  const buckets = new Map<string, { what: string; members: number[] }>();
  const put = (key: string, what: string, i: number) => {
    const b = buckets.get(key);
    if (b) b.members.push(i);
    else buckets.set(key, { what, members: [i] });
  };
  subs.forEach((s, i) => {
    const f = s.fingerprint;
    // whole kinds, not single files: one small file (a .storage, a short task file) often coincides
    for (const [kind, what] of KINDS) {
      const same = [...f.files].filter(([name]) => kind.test(name));
      if (same.length > 0) put(`${what}\0${same.map(([name, hash]) => `${name}=${hash}`).join(' ')}`, what, i);
    }
    if (f.storage !== null) put(`storage\0${f.storage}`, 'the terms and votes of every .storage', i);
    if (f.logTerms !== null) put(`terms\0${f.logTerms}`, 'the term numbers of every .log', i);
    if (f.lines.size > 0) {
      for (let band = 0; band < MINHASH_BANDS; band++) {
        put(`band\0${band}\0${f.minhash.slice(band * MINHASH_ROWS, (band + 1) * MINHASH_ROWS).join(',')}`, 'lines', i);
      }
    }
  });
  const candidates = new Set<number>();
  const groups: SharedGroup[] = [];
  const n = subs.length;
  for (const [key, { what, members }] of buckets) {
    if (members.length < 2) continue;
    if (members.length > maxBucket) {
      if (!key.startsWith('band\0')) groups.push({ what, submissions: members.map((i) => subs[i]!.id) });
      continue;
    }
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < members.length; y++) candidates.add(members[x]! * n + members[y]!);
    }
  }
  const pairs: SimilarPair[] = [];
  for (const c of candidates) {
    const a = subs[Math.floor(c / n)]!;
    const b = subs[c % n]!;
    const fa = a.fingerprint;
    const fb = b.fingerprint;
    const identical = [...fa.files].filter(([name, hash]) => fb.files.get(name) === hash).map(([name]) => name);
    const all = [...new Set([...fa.files.keys(), ...fb.files.keys()])].sort();
    const pair: SimilarPair = {
      a: a.id,
      b: b.id,
      identical,
      artifacts: all.length,
      differing: all.filter((name) => !identical.includes(name)),
      jaccard: jaccard(fa.lines, fb.lines),
      sameStorage: fa.storage !== null && fa.storage === fb.storage,
      sameLogTerms: fa.logTerms !== null && fa.logTerms === fb.logTerms,
    };
    // a .state_machine holds one of a few values ({"data_id": n}): identical ones say little
    const informative = all.filter((name) => !name.endsWith('.state_machine'));
    const identicalInformative = identical.filter((name) => !name.endsWith('.state_machine')).length;
    const manyIdentical = identicalInformative >= minIdentical && identicalInformative >= minIdenticalShare * informative.length;
    if (manyIdentical || pair.jaccard >= minJaccard || (pair.sameStorage && pair.sameLogTerms)) pairs.push(pair);
  }
  pairs.sort((p, q) => q.identical.length - p.identical.length || q.jaccard - p.jaccard || p.a.localeCompare(q.a) || p.b.localeCompare(q.b));
  groups.sort((p, q) => q.submissions.length - p.submissions.length || p.what.localeCompare(q.what));
  return { submissions: n, pairs, groups, candidatesCompared: candidates.size };
}

/** The report over loaded submissions' files. */
export function findSimilar(subs: readonly { readonly id: string; readonly files: SubmissionFiles }[], options: SimilarityOptions = {}): SimilarityReport {
  return compareFingerprints(subs.map((s) => ({ id: s.id, fingerprint: fingerprintArtifacts(s.files) })), options);
}

// ---- Reports ----

function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}

function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function similarityCsv(report: SimilarityReport): string {
  const rows = [['submission_a', 'submission_b', 'identical_artifacts', 'artifacts', 'identical_files', 'line_jaccard', 'same_storage_terms_votes', 'same_log_terms']];
  for (const p of report.pairs) {
    rows.push([p.a, p.b, String(p.identical.length), String(p.artifacts), p.identical.join(' '), p.jaccard.toFixed(3), String(p.sameStorage), String(p.sameLogTerms)]);
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

function md(s: string): string {
  return s.replace(/[\\`*_|<>[\]]/g, (c) => `\\${c}`);
}

export function similarityMarkdown(report: SimilarityReport): string {
  const out = [
    '# Similar submissions',
    '',
    `${report.submissions} submissions; ${report.pairs.length} pair${report.pairs.length === 1 ? '' : 's'} alike enough to look at. `
    + 'Real runs differ in terms, votes and timings; identical artifacts, the same .storage terms and votes and logs with the same term numbers '
    + 'can mean a copied or fabricated submission, or two short runs that happened to go the same way. This report never changes a score.',
    '',
  ];
  if (report.pairs.length === 0) out.push('No two submissions are suspiciously alike.', '');
  else {
    out.push('| submission | submission | identical artifacts | line Jaccard | same .storage terms and votes | same log terms |', '|---|---|---|---|---|---|');
    for (const p of report.pairs) {
      out.push(`| ${md(p.a)} | ${md(p.b)} | ${identicalText(p)} | ${percent(p.jaccard)} | ${p.sameStorage ? 'yes' : 'no'} | ${p.sameLogTerms ? 'yes' : 'no'} |`);
    }
    out.push('');
  }
  const linked = linkedGroups(report.pairs).filter((g) => g.length >= 3);
  if (linked.length > 0) {
    out.push('## Linked groups', '', 'Submissions joined by the pairs above (each alike to at least one other of its group):', '');
    for (const g of linked) out.push(`- ${g.length} submissions: ${g.map(md).join(', ')}`);
    out.push('');
  }
  if (report.groups.length > 0) {
    out.push('## Shared by many', '', 'Too many submissions share these to list them as pairs:', '');
    for (const g of report.groups) out.push(`- ${md(g.what)}: ${g.submissions.length} submissions (${g.submissions.slice(0, 10).map(md).join(', ')}${g.submissions.length > 10 ? ', ...' : ''})`);
    out.push('');
  }
  return out.join('\n');
}

function identicalText(p: SimilarPair): string {
  if (p.identical.length === 0) return `0 of ${p.artifacts}`;
  if (p.identical.length === p.artifacts) return `all ${p.artifacts}`;
  if (p.identical.length * 2 > p.artifacts) {
    const same = new Set(p.identical);
    const differ = p.differing.filter((n) => !same.has(n));
    return `${p.identical.length} of ${p.artifacts}, all but ${differ.map(md).join(', ')}`;
  }
  return `${p.identical.length} of ${p.artifacts}: ${p.identical.map(md).join(', ')}`;
}

/** Connected components of the pairs, each sorted, largest first. */
export function linkedGroups(pairs: readonly SimilarPair[]): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const p of pairs) {
    for (const x of [p.a, p.b]) if (!parent.has(x)) parent.set(x, x);
    const ra = find(p.a);
    const rb = find(p.b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
  const groups = new Map<string, string[]>();
  for (const x of parent.keys()) {
    const r = find(x);
    groups.set(r, [...(groups.get(r) ?? []), x]);
  }
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => b.length - a.length || a[0]!.localeCompare(b[0]!));
}

/** Write similarity.md and similarity.csv into `outDir` (each to a temporary name, then renamed). */
/** A fingerprint as plain JSON data: it is stored with each result (grading/results-store.ts) and sent by queue workers. */
export interface StoredFingerprint {
  readonly files: readonly (readonly [string, string])[];
  readonly storage: string | null;
  readonly logTerms: string | null;
  readonly lines: readonly string[];
  readonly minhash: readonly number[];
}

export function storeFingerprint(f: ArtifactFingerprint): StoredFingerprint {
  return { files: [...f.files], storage: f.storage, logTerms: f.logTerms, lines: [...f.lines], minhash: [...f.minhash] };
}

export function loadFingerprint(f: StoredFingerprint): ArtifactFingerprint {
  return { files: new Map(f.files), storage: f.storage, logTerms: f.logTerms, lines: new Set(f.lines), minhash: f.minhash };
}

export function writeSimilarity(outDir: string, grades: readonly { readonly submission: string; readonly artifacts?: StoredFingerprint }[], options: SimilarityOptions = {}): { report: SimilarityReport; files: string[] } {
  const subs = grades.flatMap((g) => (g.artifacts ? [{ id: g.submission, fingerprint: loadFingerprint(g.artifacts) }] : []));
  const report = compareFingerprints(subs, options);
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const [name, text] of [['similarity.md', similarityMarkdown(report)], ['similarity.csv', similarityCsv(report)]] as const) {
    const file = path.join(outDir, name);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
    files.push(file);
  }
  return { report, files };
}
