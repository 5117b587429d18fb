import { fail, partial, pass, taskResult, type Check, type TaskResult } from './checks';
import { isUnknown, pyStr, readPython, type PythonProgram } from './python';
import { inferCluster, layoutRule, nodeNumbers, nodeOf, NODE_NUMBERS, plural, show, splitLines, textOf, type Cluster, type SubmissionFiles } from './lab-files';

/**
 * Task 2 (leader election) as the manual evaluates it, reasoned with Raft. Each task2_nodeN.txt is what
 * node N's program saw at each poll: "LEADER => <address|None>" (raftos's get_leader()), and
 * "LEADER IS NOW NODE n". raftos's script writes the latter after every poll on every node (an indentation
 * slip), so it proves nothing; the loop ends when get_leader() returns the node's own address, so a node's
 * last "LEADER => <its own address>" is what shows it led.
 */

export interface Task2Options {
  /** Port of node 1 (default: from the raftos files' names, else 8000). */
  readonly basePort?: number;
  /** Grade the three programs (1.py..3.py or 1.sh..3.sh) too. Default: only when one of them is present. */
  readonly programs?: boolean;
}

type Task2Line =
  | { readonly kind: 'leader'; readonly leader: string | null; readonly line: number }
  | { readonly kind: 'announce'; readonly node: number; readonly line: number };

interface NodeFile {
  readonly node: number;
  readonly name: string;
  readonly lines: readonly Task2Line[];
}

const LEADER_LINE = /^LEADER => (None|[^\s:]+:\d{1,5})$/;
const ANNOUNCE_LINE = /^LEADER IS NOW NODE (\d+)$/;

export function checkTask2(files: SubmissionFiles, options: Task2Options = {}): TaskResult {
  const cluster = inferCluster(files, options.basePort);
  const checks: Check[] = [];
  const withPrograms = options.programs ?? [1, 2, 3].some((n) => files.has(`${n}.py`) || files.has(`${n}.sh`));
  if (withPrograms) checks.push(...checkPrograms(files, cluster));

  // ---- t2.files: the three files exist and every line is one the program writes ----
  const parsed: NodeFile[] = [];
  const problems: string[] = [];
  for (const node of nodeNumbers(cluster)) {
    const name = `task2_node${node}.txt`;
    const text = textOf(files, name);
    if (text === null) {
      // Nodes beyond the first three joined a grown cluster: their files are read when handed in.
      if (node <= NODE_NUMBERS.length) problems.push(`${name} is missing: submit the file node ${node}'s program wrote`);
      continue;
    }
    if (!text.ok) {
      problems.push(`${name}${text.line === null ? '' : ` line ${text.line}`} ${text.problem}: submit the file exactly as the program wrote it`);
      continue;
    }
    const lines: Task2Line[] = [];
    let bad: string | null = null;
    splitLines(text.text).forEach((raw, i) => {
      if (bad !== null) return;
      const line = raw.trim();
      const leader = LEADER_LINE.exec(line);
      const announce = ANNOUNCE_LINE.exec(line);
      if (leader) lines.push({ kind: 'leader', leader: leader[1] === 'None' ? null : leader[1]!, line: i + 1 });
      else if (announce) lines.push({ kind: 'announce', node: Number(announce[1]), line: i + 1 });
      else bad = `${name} line ${i + 1}: ${show(raw)} is not a line the program writes (expected "LEADER => 127.0.0.1:800x", "LEADER => None" or "LEADER IS NOW NODE n"); keep the f.write() statements as the manual gives them`;
    });
    if (bad !== null) problems.push(bad);
    else parsed.push({ node, name, lines });
  }
  checks.push(
    partial(
      't2.files',
      2,
      parsed.filter((f) => f.node <= NODE_NUMBERS.length).length,
      NODE_NUMBERS.length,
      problems.length === 0 ? 'task2_node1.txt, task2_node2.txt and task2_node3.txt are present and every line is one the program writes' : problems.join('\n'),
    ),
  );

  // ---- who led: a node's own "LEADER => <its address>" ----
  const ledAt = new Map<number, number>();
  for (const f of parsed) {
    const own = cluster.addresses[f.node - 1]!;
    for (const l of f.lines) if (l.kind === 'leader' && l.leader === own) ledAt.set(f.node, l.line);
  }
  const order = leaderOrder(parsed, cluster);
  const leaders = orderLeaders([...ledAt.keys()], order.rank);
  const describe = (n: number) => `node ${n} (${cluster.addresses[n - 1]})`;
  const seenOnly = [...new Set(parsed.flatMap((f) => f.lines.flatMap((l) => (l.kind === 'leader' && l.leader !== null ? [l.leader] : []))))]
    .map((a) => nodeOf(cluster, a))
    .filter((n): n is number => n !== null && !ledAt.has(n) && parsed.some((f) => f.node === n));
  const seenNote = seenOnly.length === 0
    ? ''
    : `\nNote: ${seenOnly.map(describe).join(' and ')} ${seenOnly.length === 1 ? "appears" : "appear"} as leader in other files, but its own file never shows "LEADER => <own address>", so its own program never saw it lead ("LEADER IS NOW NODE n" alone proves nothing: raftos's script writes it after every poll).`;

  // ---- t2.first-leader ----
  if (parsed.length === 0) {
    checks.push(fail('t2.first-leader', 2, 'cannot check: no task2_nodeN.txt file could be read'));
  } else if (leaders.length === 0) {
    checks.push(fail('t2.first-leader', 2,
      'no node led: a node leads when its own file shows "LEADER => <its own address>" (node N is 127.0.0.1:800(N-1)); '
      + '"LEADER IS NOW NODE n" alone proves nothing. Run the three nodes until one of them writes its own address.' + seenNote));
  } else {
    const first = leaders[0]!;
    checks.push(pass('t2.first-leader', 2,
      `${describe(first)} led: task2_node${first}.txt line ${ledAt.get(first)} is "LEADER => ${cluster.addresses[first - 1]}"` + seenNote));
  }

  // ---- t2.reelection: a different node led after the first one ----
  if (leaders.length >= 2) {
    const [a, b] = leaders as [number, number];
    const witnessed = order.before.has(`${a}>${b}`);
    checks.push(pass('t2.reelection', 2,
      `after ${describe(a)}, ${describe(b)} led (task2_node${b}.txt line ${ledAt.get(b)})`
      + (witnessed ? '' : '; no file shows one before the other, so their order is a guess')));
  } else if (leaders.length === 1) {
    checks.push(fail('t2.reelection', 2,
      `only ${describe(leaders[0]!)} ever led: press Ctrl+C on the leader's terminal and keep the other two running until one of them writes its own address ("LEADER => 127.0.0.1:800x") — with 2 of 3 nodes up a new leader must be elected`));
  } else {
    checks.push(fail('t2.reelection', 2, 'no node led, so no re-election can be shown'));
  }

  // ---- t2.survivor: the last node never led and ends with repeated "LEADER => None" ----
  const nonLeaders = parsed.filter((f) => !ledAt.has(f.node));
  const trailingNone = (f: NodeFile) => {
    let n = 0;
    for (let i = f.lines.length - 1; i >= 0; i--) {
      const l = f.lines[i]!;
      if (l.kind === 'announce') continue;
      if (l.leader !== null) break;
      n++;
    }
    return n;
  };
  if (parsed.length === 0) {
    checks.push(fail('t2.survivor', 2, 'cannot check: no task2_nodeN.txt file could be read'));
  } else if (nonLeaders.length === 0) {
    checks.push(fail('t2.survivor', 2,
      `every node whose file was read shows itself leading (${[...ledAt.keys()].sort().map(describe).join(', ')}), but the manual stops two leaders and the last node, alone, can never win: it gets 1 vote of 3 and needs 2. Stop only the leaders, and submit the last node's file showing repeated "LEADER => None"`));
  } else {
    const survivor = nonLeaders.reduce((best, f) => (trailingNone(f) > trailingNone(best) ? f : best));
    const nones = trailingNone(survivor);
    if (nones >= 2) {
      checks.push(pass('t2.survivor', 2, `the last node, ${describe(survivor.node)}, never led and its file ends with ${nones} "LEADER => None" lines: one vote of three is no majority`));
    } else {
      checks.push(fail('t2.survivor', 2,
        `no node that never led ends with repeated "LEADER => None" (${nonLeaders.map((f) => `${f.name} ends with ${plural(trailingNone(f), '"None" line')}`).join(', ')}): after stopping the second leader, let the last node write "LEADER => None" a few times before stopping it`,
        nones === 1 ? 1 : 0));
    }
  }

  // ---- t2.consistent: one story across the three files ----
  const story: string[] = [...order.problems];
  for (const f of parsed) {
    const own = cluster.addresses[f.node - 1]!;
    let ledLine: number | null = null;
    for (const l of f.lines) {
      if (l.kind === 'announce') {
        if (l.node !== f.node) story.push(`${f.name} line ${l.line} says "LEADER IS NOW NODE ${l.node}", but node ${f.node}'s program writes its own NODE_ID ${f.node}: check NODE_ID in ${f.node}.py`);
        continue;
      }
      if (l.leader !== null && nodeOf(cluster, l.leader) === null) {
        story.push(`${f.name} line ${l.line}: ${l.leader} is not a node of the cluster ${cluster.addresses.join(', ')}: ${layoutRule(cluster)}`);
      }
      if (ledLine !== null && l.leader !== own) {
        story.push(`${f.name} line ${l.line} follows "LEADER => ${own}" on line ${ledLine}, but the program stops polling once its node leads (the while loop ends)`);
        ledLine = null;
      }
      if (l.leader === own) ledLine = l.line;
    }
  }
  checks.push(story.length === 0
    ? pass('t2.consistent', 1, `the three files tell one story: every address is a node of ${cluster.addresses.join(', ')} and the leaders appear in the same order everywhere${leaders.length > 0 ? ` (${leaders.map((n) => cluster.addresses[n - 1]).join(' then ')})` : ''}`)
    : fail('t2.consistent', 1, story.slice(0, 6).join('\n') + (story.length > 6 ? `\n(and ${story.length - 6} more)` : '')));

  return taskResult(checks);
}

/**
 * The order in which leaders appear in each file (repeats collapsed, None skipped), merged into one order.
 * A leader that comes back after another, or two files that disagree on the order, is a problem.
 */
function leaderOrder(parsed: readonly NodeFile[], cluster: Cluster): { rank: Map<number, number>; before: Set<string>; problems: string[] } {
  const before = new Set<string>();
  const problems: string[] = [];
  const where = new Map<string, string>();
  for (const f of parsed) {
    const seq: { node: number; line: number }[] = [];
    for (const l of f.lines) {
      if (l.kind !== 'leader' || l.leader === null) continue;
      const n = nodeOf(cluster, l.leader);
      if (n === null) continue;
      if (seq.length > 0 && seq[seq.length - 1]!.node === n) continue;
      const earlier = seq.find((s) => s.node === n);
      if (earlier) {
        problems.push(`${f.name} line ${l.line}: ${l.leader} leads again after ${cluster.addresses[seq[seq.length - 1]!.node - 1]} took over, but in the lab a stopped leader does not come back`);
        continue;
      }
      for (const s of seq) {
        before.add(`${s.node}>${n}`);
        where.set(`${s.node}>${n}`, `${f.name} shows ${cluster.addresses[s.node - 1]} (line ${s.line}) before ${l.leader} (line ${l.line})`);
      }
      seq.push({ node: n, line: l.line });
    }
  }
  for (const key of before) {
    const [a, b] = key.split('>');
    if (a! < b! && before.has(`${b}>${a}`)) problems.push(`the files disagree on the order of leaders: ${where.get(key)}, but ${where.get(`${b}>${a}`)}`);
  }
  const rank = new Map<number, number>();
  for (const n of nodeNumbers(cluster)) {
    let r = 0;
    for (const m of nodeNumbers(cluster)) if (before.has(`${m}>${n}`) && !before.has(`${n}>${m}`)) r++;
    rank.set(n, r);
  }
  return { rank, before, problems };
}

function orderLeaders(leaders: number[], rank: Map<number, number>): number[] {
  return leaders.sort((a, b) => rank.get(a)! - rank.get(b)! || a - b);
}

/** The manual's f.write() arguments, by TASK_NO ("Please write the f.write() statements as is, for evaluation purposes"). */
export const MANUAL_WRITES: Readonly<Record<2 | 3, readonly string[]>> = {
  2: ['LEADER => {leader}\n', 'LEADER IS NOW NODE {NODE_ID}\n'],
  3: ['LEADER => {leader}\n', 'LEADER -> {NODE_ID}\n', 'done writing data_id\n', 'done writing data\n'],
};

interface ProgramFile {
  readonly node: number;
  readonly file: string;
  readonly program: PythonProgram;
}

/** t2.programs: each node's program is there, with its own port and node id; t2.f-writes (0 points) for the .py ones. */
function checkPrograms(files: SubmissionFiles, cluster: Cluster): Check[] {
  const problems: string[] = [];
  const python: ProgramFile[] = [];
  let ok = 0;
  for (const n of NODE_NUMBERS) {
    const py = textOf(files, `${n}.py`);
    const sh = textOf(files, `${n}.sh`);
    const file = py ? `${n}.py` : `${n}.sh`;
    const text = py ?? sh;
    if (text === null) {
      problems.push(`${n}.py (or this course's ${n}.sh) is missing: submit node ${n}'s program`);
      continue;
    }
    if (!text.ok) {
      problems.push(`${file}${text.line === null ? '' : ` line ${text.line}`} ${text.problem}`);
      continue;
    }
    if (!py) {
      const own = cluster.addresses[n - 1]!;
      if (new RegExp(`--id\\s+${n}(?!\\d)`).test(text.text) || text.text.includes(`--listen ${own}`)) ok++;
      else problems.push(`${file} must run node ${n} ("npm run task2 -- --id ${n}"${cluster.basePort === null ? `, or --listen ${own}` : ''})`);
      continue;
    }
    const parsed = readPython(text.text);
    if (!parsed.ok) {
      problems.push(`${file} line ${parsed.line} ${parsed.problem}: the grader reads the program as Python 3 and does not run it`);
      continue;
    }
    python.push({ node: n, file, program: parsed.program });
    const wrong = programProblems(n, file, parsed.program, cluster);
    if (wrong.length > 0) problems.push(...wrong);
    else ok++;
  }
  const checks = [partial('t2.programs', 1, ok, 3, problems.length === 0
    ? `the three node programs are present, each with its own port and node id${python.length > 0 ? ` (read as Python: ${python.map((p) => `${p.file} PORT = ${valueText(p.program, 'PORT')}, NODE_ID = ${valueText(p.program, 'NODE_ID')}`).join('; ')})` : ''}`
    : problems.join('\n'))];
  if (python.length > 0) checks.push(checkWrites(python));
  return checks;
}

function valueText(program: PythonProgram, name: string): string {
  const a = program.globals.get(name);
  return a === undefined ? 'unset' : isUnknown(a.result) ? `${JSON.stringify(a.source)} (not a value)` : pyStr(a.result.value);
}

/** What node n's program gets wrong: PORT, NODE_ID, and the address and cluster it registers with raftos. */
function programProblems(n: number, file: string, program: PythonProgram, cluster: Cluster): string[] {
  const own = cluster.addresses[n - 1]!;
  const port = Number(own.slice(own.lastIndexOf(':') + 1));
  const wrong: string[] = [];
  for (const [name, want] of [['PORT', port], ['NODE_ID', n]] as const) {
    const a = program.globals.get(name);
    if (a === undefined) wrong.push(`${name} = ${want} (no module-level assignment of ${name}; one inside a function, a class or a comment does not count)`);
    else if (isUnknown(a.result)) wrong.push(`${name} = ${want} (line ${a.line}, "${a.source}", is not a value the grader can read without running the program: ${a.result.unknown})`);
    else if (a.result.value !== want) wrong.push(`${name} = ${want} (line ${a.line} sets it to ${pyStr(a.result.value)})`);
  }
  if (wrong.length > 0) return [`${file} must set ${wrong.join(' and ')}`];
  const others = cluster.addresses.filter((a) => a !== own);
  for (const r of program.registers) {
    if (r.address && !isUnknown(r.address) && r.address.value !== own) {
      wrong.push(`${file} line ${r.line} registers node ${n} as ${pyStr(r.address.value)}, not ${own}`);
    }
    if (r.cluster && !isUnknown(r.cluster)) {
      const c = r.cluster.value;
      const list = Array.isArray(c) ? (c as readonly unknown[]) : null;
      if (list === null || list.length !== others.length || !others.every((o) => list.includes(o))) {
        wrong.push(`${file} line ${r.line} registers the cluster ${pyStr(c)}; node ${n}'s cluster is the two other nodes, ${others.join(' and ')}`);
      }
    }
  }
  return wrong;
}

/** t2.f-writes: reported, never scored: a changed f.write() shows in the task files' lines, which are scored. */
function checkWrites(programs: readonly ProgramFile[]): Check {
  const problems: string[] = [];
  for (const p of programs) {
    const task = p.program.globals.get('TASK_NO');
    const taskNo = task && !isUnknown(task.result) && (task.result.value === 2 || task.result.value === 3) ? task.result.value : 3;
    const expected = [...MANUAL_WRITES[taskNo]];
    const extra: string[] = [];
    for (const w of p.program.writes) {
      const i = expected.indexOf(w.template);
      if (i >= 0) expected.splice(i, 1);
      else extra.push(`line ${w.line} writes ${JSON.stringify(w.template)}`);
    }
    if (extra.length > 0 || expected.length > 0) {
      problems.push(`${p.file} (TASK_NO ${taskNo}${task ? '' : ', assumed'}): ${[...extra, ...expected.map((e) => `no f.write() writes ${JSON.stringify(e)}`)].join('; ')}`);
    }
  }
  return problems.length === 0
    ? pass('t2.f-writes', 0, `each program's f.write() lines are the manual's (${programs.map((p) => p.file).join(', ')}); reported, not scored`)
    : fail('t2.f-writes', 0, `f.write() lines differ from the manual's, which asks to keep them as is (reported, not scored; the task files' lines are):\n${problems.join('\n')}`);
}
