import { zooVariants } from '../../fuzz/zoo';
import type { TraceEvent } from '../../sim/trace';
import type { MessageView, NodeView, Segment } from '../driver';
import { ScopeSession } from '../session';
import { decodeLink, defaultSpec, encodeLink, maxNodes, minNodes, type ActionBody, type ScopeSpec } from '../spec';
import { css } from './style';
import type { MountOptions } from '../config';

export type { MountOptions };

const svgNs = 'http://www.w3.org/2000/svg';
const properties = ['Election Safety', 'Leader Append-Only', 'Log Matching', 'Leader Completeness', 'State Machine Safety'];
/** Term colours: readable pastels, cycling. */
const termColours = ['#e9ecef', '#a5d8ff', '#b2f2bb', '#ffd8a8', '#d0bfff', '#99e9f2', '#ffc9c9', '#ffec99', '#c3fae8', '#eebefa', '#d8f5a2'];
const roleStroke: Record<string, string> = { leader: '#3b5bdb', candidate: '#e8590c', precandidate: '#f59f00', follower: '#868e96', down: '#ced4da' };
const maxLogCells = 28;

export function termColour(term: number): string {
  return term === 0 ? termColours[0]! : termColours[1 + ((term - 1) % (termColours.length - 1))]!;
}


function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Set attributes that changed (writing the DOM only when needed keeps frames cheap). */
function attrs(e: Element, values: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(values)) {
    const value = String(v);
    if (e.getAttribute(k) !== value) e.setAttribute(k, value);
  }
}

function text(e: Element, value: string): void {
  if (e.textContent !== value) e.textContent = value;
}

function svg(tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement {
  const e = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const nodeName = (i: number): string => `S${i + 1}`;
/** The lab's ids (127.0.0.1:8000 ...) as the page names nodes (S1 ...). */
const pretty = (text: string): string => text.replace(/127\.0\.0\.1:80(\d\d)/g, (_, p: string) => `S${Number(p) + 1}`);

function messageColour(m: MessageView): string {
  const msg = m.message;
  switch (msg.type) {
    case 'RequestVote': return msg.preVote ? '#f59f00' : '#e8590c';
    case 'RequestVoteReply': return msg.voteGranted ? '#2f9e44' : '#c92a2a';
    case 'AppendEntries': return msg.entries.length > 0 ? '#3b5bdb' : '#74c0fc';
    case 'AppendEntriesReply': return msg.success ? '#1098ad' : '#c2255c';
    case 'TimeoutNow': return '#862e9c';
    case 'InstallSnapshot': return '#5f3dc4';
    case 'InstallSnapshotReply': return '#9775fa';
  }
}

function describeEvent(e: TraceEvent, name: (id: string) => string): string {
  const n = e.node === '*' ? 'net' : name(e.node);
  switch (e.kind) {
    case 'role': return `${n} ${e.role} in term ${e.term} (${pretty(e.reason)})`;
    case 'term': return `${n} term -> ${e.term}`;
    case 'timeout': return `${n} election timeout (term ${e.term})`;
    case 'vote': return `${n} ${e.granted ? 'grants' : 'denies'} ${e.preVote ? 'pre-vote' : 'vote'} to ${name(e.candidate)} (term ${e.term})`;
    case 'send': return `${n} -> ${name(e.to)} ${e.message.type}`;
    case 'deliver': return `${n} <- ${name(e.from)} ${e.message.type}`;
    case 'drop': return `${name(e.from)} -> ${name(e.to)} ${e.message.type} dropped (${e.reason})`;
    case 'append': return `${n} appends ${e.count} at ${e.index} (term ${e.term})`;
    case 'truncate': return `${n} truncates its log from ${e.index}`;
    case 'commit': return `${n} commitIndex -> ${e.index}`;
    case 'apply': return `${n} applies #${e.index} ${JSON.stringify(e.command)}`;
    case 'propose': return `client -> ${n}: ${JSON.stringify(e.command)} at ${e.index} (term ${e.term})`;
    case 'crash': return `${n} CRASHED`;
    case 'restart': return `${n} restarted`;
    case 'partition': return `partition: ${e.cut.length} one-way links cut`;
    case 'heal': return e.node === '*' ? 'network healed' : `${n} reconnected`;
  }
}

/** The explorer, drawn into `root`. Returns a handle for tests and notebooks. */
export function mountScope(root: HTMLElement, options: MountOptions = {}): ScopeApp {
  return new ScopeApp(root, options);
}

export class ScopeApp {
  session: ScopeSession;
  playing = false;
  speed: number;
  selectedNode: number | null = null;
  selectedMessage: number | null = null;
  cutFrom: number | null = null;
  splitMode = false;
  splitGroups: number[] = [];
  readonly frameTimes: number[] = [];
  private lastFrame = 0;
  private readonly root: HTMLElement;
  private readonly useHash: boolean;
  private readonly ui: Record<string, HTMLElement> = {};
  private clusterSvg!: SVGSVGElement;
  private timelineSvg!: SVGSVGElement;
  private layers!: { links: SVGElement; msgs: SVGElement; nodes: SVGElement; drops: SVGElement };
  private positions: [number, number][] = [];
  private error: string | null = null;
  private writtenHash = '';
  private nodeEls: Record<'g' | 'split' | 'selected' | 'track' | 'timer' | 'body' | 'name' | 'term' | 'extra' | 'role' | 'crown', SVGElement>[] = [];
  private readonly messageEls = new Map<number, { g: SVGElement; dot: SVGElement; label: SVGElement; r: number }>();
  private linksKey = '';
  private dropsHtml = '';
  private logsKey = '';
  private eventsKey = '';
  private inspectorKey = '';
  private timelineState: {
    run: unknown; segments: number; open: { seg: Segment; rect: SVGElement }[]; group: SVGElement; overlay: SVGElement; width: number; ticks: string;
  } | null = null;
  private timelineWidth = 900;

  constructor(root: HTMLElement, options: MountOptions) {
    this.root = root;
    this.useHash = options.useHash ?? false;
    this.speed = options.speed ?? 0.1;
    let spec: ScopeSpec = defaultSpec;
    let time = 0;
    const link = options.link ?? (this.useHash ? location.hash : '');
    if (link && link !== '#') {
      try {
        ({ spec, time } = decodeLink(link));
      } catch (e) {
        this.error = e instanceof Error ? e.message : String(e);
      }
    }
    this.session = new ScopeSession(spec, time);
    this.build();
    this.reset(spec, time);
    if (options.autoplay) this.setPlaying(true);
    if (this.useHash) {
      window.addEventListener('hashchange', () => {
        if (location.hash === this.writtenHash) return;
        try {
          const opened = decodeLink(location.hash);
          this.error = null;
          this.setPlaying(false);
          this.reset(opened.spec, opened.time);
        } catch (e) {
          this.error = e instanceof Error ? e.message : String(e);
          this.draw();
        }
      });
    }
    requestAnimationFrame((t) => this.frame(t));
  }

  // ---- Building the page ----

  private build(): void {
    const root = this.root;
    root.classList.add('raft-scope');
    root.innerHTML = '';
    const style = el('style');
    style.textContent = css;
    root.append(style);

    const header = el('header');
    const h1 = el('h1');
    h1.innerHTML = 'Raft <span>Scope</span>';
    const seed = el('input', { type: 'number', min: '0', step: '1', 'data-test': 'seed' }) as HTMLInputElement;
    const reseed = el('button', { title: 'a new random seed', 'data-test': 'new-seed' }, 'new seed');
    const nodes = el('select', { 'data-test': 'nodes' }) as HTMLSelectElement;
    for (let n = minNodes; n <= maxNodes; n++) nodes.append(el('option', { value: String(n) }, `${n} nodes`));
    const pv = el('input', { type: 'checkbox', 'data-test': 'prevote' }) as HTMLInputElement;
    const cq = el('input', { type: 'checkbox', 'data-test': 'checkquorum' }) as HTMLInputElement;
    const chaos = el('input', { type: 'checkbox', 'data-test': 'chaos' }) as HTMLInputElement;
    const zoo = el('select', { 'data-test': 'zoo', title: 'a known-broken Raft from the bug zoo' }) as HTMLSelectElement;
    zoo.append(el('option', { value: '' }, 'Raft (Figure 2)'));
    for (const z of zooVariants) zoo.append(el('option', { value: z.name, title: z.description }, `bug: ${z.name}`));
    const branch = el('select', { 'data-test': 'branch', title: 'runs forked by going back in time and acting' }) as HTMLSelectElement;
    const share = el('button', { 'data-test': 'share', title: 'copy a link that replays this run' }, 'copy link');
    const lab = (text: string, input: HTMLElement): HTMLElement => {
      const l = el('label');
      l.append(input, document.createTextNode(text));
      return l;
    };
    const seedLabel = el('label', {}, 'seed');
    seedLabel.append(seed);
    header.append(h1, seedLabel, reseed, nodes, lab('PreVote', pv), lab('CheckQuorum', cq), lab('chaos', chaos), zoo, branch, share);
    Object.assign(this.ui, { seed, nodes, pv, cq, chaos, zoo, branch, share });
    const settings = (): void => this.reset({
      ...this.session.spec,
      seed: Math.max(0, Math.trunc(Number(seed.value) || 0)),
      nodes: Number(nodes.value),
      preVote: pv.checked,
      checkQuorum: cq.checked,
      chaos: chaos.checked,
      zoo: zoo.value || null,
      actions: [],
      rules: this.session.spec.rules,
    }, 0);
    for (const input of [seed, nodes, pv, cq, chaos, zoo]) input.addEventListener('change', settings);
    reseed.addEventListener('click', () => {
      seed.value = String(Math.floor(Math.random() * 100_000));
      settings();
    });
    branch.addEventListener('change', () => {
      this.session.select(Number(branch.value));
      this.afterChange();
    });
    share.addEventListener('click', () => {
      const text = this.link();
      void navigator.clipboard?.writeText(text).then(() => (share.textContent = 'copied'), () => undefined);
      setTimeout(() => (share.textContent = 'copy link'), 1500);
    });

    const banner = el('div', { class: 'banner', 'data-test': 'banner' });
    const grid = el('div', { class: 'grid' });
    const left = el('div', { class: 'panel' });
    left.append(el('h2', {}, 'Cluster'));
    this.clusterSvg = svg('svg', { viewBox: '0 0 440 420', class: 'cluster', 'data-test': 'cluster' }) as SVGSVGElement;
    this.layers = { links: svg('g'), msgs: svg('g'), drops: svg('g'), nodes: svg('g') };
    this.clusterSvg.append(this.layers.links, this.layers.nodes, this.layers.msgs, this.layers.drops);
    this.clusterSvg.addEventListener('click', (e) => {
      if (e.target === this.clusterSvg) this.select(null, null);
    });
    const legend = el('div', { class: 'legend' });
    legend.innerHTML = [
      ['#e8590c', 'RequestVote'], ['#2f9e44', 'vote granted'], ['#c92a2a', 'vote denied'], ['#74c0fc', 'heartbeat'],
      ['#3b5bdb', 'AppendEntries'], ['#1098ad', 'ack'], ['#c2255c', 'refused'],
    ].map(([c, t]) => `<span><i style="background:${c}"></i>${t}</span>`).join('') + '<span>ring: election timer</span>';
    left.append(this.clusterSvg, legend);

    const side = el('div', { class: 'side' });
    const inspector = el('div', { class: 'panel inspector', 'data-test': 'inspector' });
    inspector.append(el('h2', {}, 'Selected'), el('div', { class: 'what' }), el('div', { class: 'buttons' }));
    const monitor = el('div', { class: 'panel monitor', 'data-test': 'monitor' });
    const props = el('div', { class: 'props' });
    for (const p of properties) props.append(el('span', { class: 'prop', 'data-prop': p }, `✓ ${p}`));
    monitor.append(el('h2', {}, 'Safety monitor (Figure 3)'), props, el('div', { class: 'verdict' }));
    const eventsPanel = el('div', { class: 'panel' });
    const events = el('div', { class: 'events', 'data-test': 'events' });
    eventsPanel.append(el('h2', {}, 'Events (state changes; messages are on the picture)'), events);
    const cluster = el('div', { class: 'panel' });
    cluster.append(el('h2', {}, 'Cluster actions'));
    const actions = el('div', { class: 'buttons' });
    actions.style.display = 'flex';
    actions.style.flexWrap = 'wrap';
    actions.style.gap = '6px';
    const request = el('button', { 'data-test': 'request', title: 'a client request to the leader' }, 'client request');
    const split = el('button', { 'data-test': 'split', title: 'split the cluster into two groups' }, 'split…');
    const heal = el('button', { 'data-test': 'heal' }, 'heal network');
    request.addEventListener('click', () => this.act({ op: 'request' }));
    heal.addEventListener('click', () => this.act({ op: 'heal' }));
    split.addEventListener('click', () => this.toggleSplit());
    actions.append(request, split, heal);
    const loss = el('input', { type: 'range', min: '0', max: '0.5', step: '0.01', 'data-test': 'loss' }) as HTMLInputElement;
    const latency = el('input', { type: 'range', min: '1', max: '100', step: '1', 'data-test': 'latency' }) as HTMLInputElement;
    const netChange = (): void => {
      const mean = Number(latency.value);
      this.act({ op: 'net', loss: Number(loss.value), min: Math.max(0, Math.round(mean * 0.7)), max: Math.round(mean * 1.3) });
    };
    loss.addEventListener('change', netChange);
    latency.addEventListener('change', netChange);
    const lossLabel = el('label', {}, 'loss');
    const latLabel = el('label', {}, 'latency');
    lossLabel.append(loss, el('span', { 'data-test': 'loss-value' }));
    latLabel.append(latency, el('span', { 'data-test': 'latency-value' }));
    const netRow = el('div');
    netRow.style.cssText = 'display:flex;flex-wrap:wrap;gap:4px 14px;margin-top:8px';
    netRow.append(lossLabel, latLabel);
    cluster.append(actions, netRow);
    side.append(inspector, cluster, monitor, eventsPanel);
    grid.append(left, side);
    Object.assign(this.ui, { banner, inspector, monitor, events, request, split, loss, latency, lossLabel, latLabel });

    const logs = el('div', { class: 'panel logs', 'data-test': 'logs' });
    logs.append(el('h2', {}, 'Logs (colour = term; solid = committed; n/m = the leader\'s nextIndex/matchIndex)'), el('div', { class: 'rows' }));

    const transport = el('div', { class: 'panel' });
    const row = el('div', { class: 'transport' });
    const play = el('button', { class: 'primary', 'data-test': 'play' }, '▶ play');
    const step = el('button', { 'data-test': 'step', title: 'run to the next event' }, 'step ›');
    const speed = el('input', { type: 'range', min: '-2', max: '2', step: '0.01', 'data-test': 'speed' }) as HTMLInputElement;
    speed.value = String(Math.log10(this.speed));
    const speedLabel = el('span', { 'data-test': 'speed-value' });
    const scrub = el('input', { type: 'range', min: '0', max: '1000', step: 'any', class: 'scrub', 'data-test': 'scrub' }) as HTMLInputElement;
    const time = el('span', { class: 'time', 'data-test': 'time' });
    play.addEventListener('click', () => this.setPlaying(!this.playing));
    step.addEventListener('click', () => {
      this.setPlaying(false);
      this.session.stepEvent();
      this.afterChange();
    });
    speed.addEventListener('input', () => {
      this.speed = Math.pow(10, Number(speed.value));
      this.drawSpeed();
    });
    scrub.addEventListener('input', () => {
      this.setPlaying(false);
      this.session.seek(Number(scrub.value));
      this.afterChange(false);
    });
    scrub.addEventListener('change', () => this.writeHash());
    const speedBox = el('label', {}, 'speed');
    speedBox.append(speed, speedLabel);
    row.append(play, step, speedBox, time, scrub);
    this.timelineSvg = svg('svg', { class: 'timeline', 'data-test': 'timeline', height: 20 }) as SVGSVGElement;
    this.timelineSvg.addEventListener('click', (e) => {
      const box = this.timelineSvg.getBoundingClientRect();
      const x = (e as MouseEvent).clientX - box.left;
      const end = this.timelineEnd();
      this.setPlaying(false);
      this.session.seek(Math.max(0, ((x - 40) / Math.max(1, box.width - 50)) * end));
      this.afterChange();
    });
    transport.append(el('h2', {}, 'Time (term timeline: one lane per node, colour = term, tall = leader)'), this.timelineSvg, row);
    Object.assign(this.ui, { play, step, speed, speedLabel, scrub, time, logs });

    const measure = (): void => {
      const w = Math.round(this.timelineSvg.getBoundingClientRect().width);
      if (w > 0 && w !== this.timelineWidth) {
        this.timelineWidth = Math.max(300, w);
        this.drawTimeline();
      }
    };
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(measure).observe(this.timelineSvg);
    requestAnimationFrame(measure);
    const error = el('div', { class: 'error', 'data-test': 'error' });
    root.append(header, banner, grid, logs, transport, error);
    this.ui.error = error;
    root.tabIndex = 0;
    root.addEventListener('keydown', (e) => {
      if ((e.target as HTMLElement).tagName === 'INPUT' && (e.target as HTMLInputElement).type === 'number') return;
      if (e.key === ' ') {
        e.preventDefault();
        this.setPlaying(!this.playing);
      } else if (e.key === '.' || e.key === 'ArrowRight') {
        this.session.stepEvent();
        this.afterChange();
      }
    });
  }

  // ---- State changes ----

  reset(spec: ScopeSpec, time: number): void {
    this.session = new ScopeSession(spec, time);
    this.selectedNode = null;
    this.selectedMessage = null;
    this.cutFrom = null;
    this.splitMode = false;
    (this.ui.seed as HTMLInputElement).value = String(spec.seed);
    (this.ui.nodes as HTMLSelectElement).value = String(spec.nodes);
    (this.ui.pv as HTMLInputElement).checked = spec.preVote;
    (this.ui.cq as HTMLInputElement).checked = spec.checkQuorum;
    (this.ui.chaos as HTMLInputElement).checked = spec.chaos;
    (this.ui.zoo as HTMLSelectElement).value = spec.zoo ?? '';
    const lastNet = [...spec.actions].reverse().find((a) => a.op === 'net');
    const net = lastNet && lastNet.op === 'net' ? lastNet : { loss: spec.loss, min: spec.latency[0], max: spec.latency[1] };
    (this.ui.loss as HTMLInputElement).value = String(net.loss);
    (this.ui.latency as HTMLInputElement).value = String(Math.round((net.min + net.max) / 2));
    this.layout();
    this.afterChange();
  }

  act(body: ActionBody): void {
    if (this.session.run.violation) return;
    this.session.act(body);
    this.afterChange();
  }

  setPlaying(on: boolean): void {
    this.playing = on && !this.session.run.violation;
    this.ui.play!.textContent = this.playing ? '❚❚ pause' : '▶ play';
    if (!this.playing) this.writeHash();
  }

  select(node: number | null, message: number | null): void {
    this.selectedNode = node;
    this.selectedMessage = message;
    this.drawInspector();
    this.drawCluster();
  }

  private toggleSplit(): void {
    this.splitMode = !this.splitMode;
    this.splitGroups = this.session.run.ids.map((_, i) => (i < Math.ceil(this.session.spec.nodes / 2) ? 0 : 1));
    this.select(null, null);
  }

  private clickNode(i: number): void {
    if (this.cutFrom !== null) {
      if (this.cutFrom !== i) this.act({ op: 'cut', a: this.cutFrom, b: i });
      this.cutFrom = null;
      this.select(i, null);
      return;
    }
    if (this.splitMode) {
      this.splitGroups[i] = 1 - this.splitGroups[i]!;
      this.drawInspector();
      this.drawCluster();
      return;
    }
    this.select(i, null);
  }

  link(): string {
    const hash = encodeLink(this.session.spec, this.session.run.now);
    if (this.useHash && /^https?:/.test(location.href)) return `${location.href.split('#')[0]}#${hash}`;
    // Inside a notebook's output: a link to the standalone page that `npm run scope` serves.
    return `http://127.0.0.1:8090/#${hash}`;
  }

  private writeHash(): void {
    if (!this.useHash) return;
    this.writtenHash = `#${encodeLink(this.session.spec, this.session.run.now)}`;
    history.replaceState(null, '', this.writtenHash);
  }

  private afterChange(hash = true): void {
    if (this.session.run.violation) this.setPlaying(false);
    if (hash) this.writeHash();
    this.draw();
  }

  // ---- Animation ----

  private frame(t: number): void {
    const started = performance.now();
    const dt = this.lastFrame === 0 ? 0 : Math.min(100, t - this.lastFrame);
    this.lastFrame = t;
    if (this.playing) {
      const target = Math.round((this.session.run.now + dt * this.speed) * 1000) / 1000;
      this.session.seek(target);
      if (this.session.run.violation) this.setPlaying(false);
      this.draw();
      this.frameTimes.push(performance.now() - started);
      if (this.frameTimes.length > 2000) this.frameTimes.splice(0, 1000);
    }
    if (this.root.isConnected) requestAnimationFrame((x) => this.frame(x));
  }

  // ---- Drawing ----

  private layout(): void {
    const n = this.session.spec.nodes;
    const cx = 220;
    const cy = 205;
    const r = 150;
    this.positions = Array.from({ length: n }, (_, i) => {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / n;
      return [cx + r * Math.cos(a), cy + r * Math.sin(a)] as [number, number];
    });
    this.buildNodes();
  }

  draw(): void {
    const run = this.session.run;
    const leader = run.leaderIndex();
    const nodes = run.nodes();
    this.root.dataset.time = String(run.now);
    this.root.dataset.leader = leader === null ? '' : nodeName(leader);
    this.root.dataset.term = String(Math.max(...nodes.map((n) => n.term)));
    this.root.dataset.branch = String(this.session.branch.id);
    this.root.dataset.violation = run.violation?.property ?? '';
    this.drawCluster(nodes);
    this.drawLogs(nodes);
    this.drawTimeline();
    this.drawTransport();
    this.drawMonitor();
    this.drawEvents();
    this.drawInspector(nodes);
    this.drawBranches();
    this.ui.error!.textContent = this.error ?? '';
  }

  private drawSpeed(): void {
    const s = this.speed;
    this.ui.speedLabel!.textContent = `${s < 1 ? s.toFixed(s < 0.1 ? 3 : 2) : s < 10 ? s.toFixed(1) : Math.round(s)}x`;
  }

  private drawTransport(): void {
    const run = this.session.run;
    const scrub = this.ui.scrub as HTMLInputElement;
    const end = this.timelineEnd();
    scrub.max = String(end);
    scrub.value = String(run.now);
    this.ui.time!.textContent = `t = ${run.now.toFixed(1)} ms`;
    this.drawSpeed();
    const loss = this.ui.loss as HTMLInputElement;
    const lat = this.ui.latency as HTMLInputElement;
    this.ui.lossLabel!.querySelector('span')!.textContent = `${Math.round(Number(loss.value) * 100)}%`;
    this.ui.latLabel!.querySelector('span')!.textContent = `~${lat.value} ms`;
    (this.ui.step as HTMLButtonElement).disabled = run.violation !== null;
    (this.ui.play as HTMLButtonElement).disabled = run.violation !== null;
    this.ui.split!.textContent = this.splitMode ? 'cancel split' : 'split…';
  }

  private timelineEnd(): number {
    return Math.max(1000, this.session.branch.end, this.session.run.now);
  }

  /** Persistent SVG elements for each node, updated in place every frame (so clicks land while it plays). */
  private buildNodes(): void {
    const layer = this.layers.nodes;
    layer.replaceChildren();
    this.nodeEls = this.positions.map(([x, y], i) => {
      const g = svg('g', { class: 'node', 'data-node': nodeName(i) });
      g.addEventListener('click', (e) => {
        e.stopPropagation();
        this.clickNode(i);
      });
      const R = 41;
      const len = 2 * Math.PI * R;
      const parts = {
        g,
        split: svg('circle', { cx: x, cy: y, r: 50, stroke: 'none', fill: 'none' }),
        selected: svg('circle', { cx: x, cy: y, r: 48, fill: 'none', stroke: 'none', 'stroke-width': 2, 'stroke-dasharray': '3 3' }),
        track: svg('circle', { cx: x, cy: y, r: R, fill: 'none', stroke: '#f1f3f5', 'stroke-width': 5 }),
        timer: svg('circle', { cx: x, cy: y, r: R, fill: 'none', 'stroke-width': 5, transform: `rotate(-90 ${x} ${y})`, 'stroke-linecap': 'round', 'data-len': len }),
        body: svg('circle', { cx: x, cy: y, r: 34 }),
        name: svg('text', { x, y: y - 6, 'text-anchor': 'middle', 'font-size': 17, 'font-weight': 700 }, nodeName(i)),
        term: svg('text', { x, y: y + 10, 'text-anchor': 'middle', 'font-size': 11 }),
        extra: svg('text', { x, y: y + 22, 'text-anchor': 'middle', 'font-size': 9.5, fill: '#6b7385' }),
        role: svg('text', { x, y: y + 58, 'text-anchor': 'middle', 'font-size': 11.5, 'font-weight': 600 }),
        crown: svg('text', { x, y: y - 49, 'text-anchor': 'middle', 'font-size': 15, fill: '#3b5bdb' }),
      };
      g.append(parts.split, parts.selected, parts.track, parts.timer, parts.body, parts.name, parts.term, parts.extra, parts.role, parts.crown);
      layer.append(g);
      return parts;
    });
    for (const m of this.messageEls.values()) m.g.remove();
    this.messageEls.clear();
    this.linksKey = '';
  }

  private drawCluster(nodes: NodeView[] = this.session.run.nodes()): void {
    const run = this.session.run;
    const { links, msgs, drops } = this.layers;
    const pos = this.positions;
    const now = run.now;
    // Links: every pair, cut ones dashed red with a mark (redrawn only when the cut changes).
    const cutList = run.cutLinks();
    const cut = new Set(cutList.map(([a, b]) => `${a}>${b}`));
    const linksKey = `${pos.length}|${[...cut].sort().join(',')}`;
    if (linksKey !== this.linksKey) {
      this.linksKey = linksKey;
      links.replaceChildren();
      for (let a = 0; a < pos.length; a++) {
        for (let b = a + 1; b < pos.length; b++) {
          const ab = cut.has(`${a}>${b}`);
          const ba = cut.has(`${b}>${a}`);
          const [x1, y1] = pos[a]!;
          const [x2, y2] = pos[b]!;
          const isCut = ab || ba;
          links.append(svg('line', {
            x1, y1, x2, y2, stroke: isCut ? '#e03131' : '#e3e6ec', 'stroke-width': isCut ? 1.4 : 1, opacity: isCut ? 0.55 : 1,
            'stroke-dasharray': isCut ? '5 5' : '', 'data-cut': isCut ? `${nodeName(a)}-${nodeName(b)}` : '',
          }));
          if (isCut) {
            links.append(svg('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 + 4, 'text-anchor': 'middle', 'font-size': 12, fill: '#e03131', opacity: 0.8 }, ab && ba ? '✂' : ab ? '✂→' : '←✂'));
          }
        }
      }
      const groups = this.groups(cut);
      const label = groups.length > 1
        ? `partitioned: ${groups.map((g) => `{${g.map(nodeName).join(' ')}}`).join('  |  ')}`
        : cut.size > 0 ? `${cut.size} one-way link${cut.size === 1 ? '' : 's'} cut` : '';
      if (label) links.append(svg('text', { x: 220, y: 412, 'text-anchor': 'middle', 'font-size': 12, fill: '#e03131', 'data-test': 'partition' }, label));
    }
    // Nodes, updated in place.
    for (const n of nodes) {
      const e = this.nodeEls[n.index];
      if (!e) continue;
      attrs(e.g, { 'data-role': n.role, 'data-term': n.term });
      const selected = this.selectedNode === n.index || this.cutFrom === n.index;
      attrs(e.selected, { stroke: selected ? '#3b5bdb' : 'none' });
      attrs(e.split, { fill: this.splitMode ? (this.splitGroups[n.index] ? '#fff4e6' : '#e7f5ff') : 'none' });
      const len = Number(e.timer.getAttribute('data-len'));
      const showTimer = n.timer !== null && n.alive;
      attrs(e.timer, {
        stroke: showTimer ? (n.timer! < 0.2 ? '#e8590c' : '#adb5bd') : 'none',
        'stroke-dasharray': showTimer ? `${(len * n.timer!).toFixed(1)} ${len.toFixed(1)}` : '',
      });
      attrs(e.body, {
        fill: n.alive ? termColour(n.term) : '#f1f3f5', stroke: roleStroke[n.role] ?? '#868e96',
        'stroke-width': n.role === 'leader' ? 4 : 2, 'stroke-dasharray': n.alive ? '' : '4 3',
      });
      const ink = n.alive ? '#1d2330' : '#adb5bd';
      attrs(e.name, { fill: ink });
      attrs(e.term, { fill: ink });
      text(e.term, `term ${n.term}`);
      const vote = n.votedFor === null ? '' : `voted ${nodeName(n.votedFor)}`;
      text(e.extra, n.role === 'candidate' || n.role === 'precandidate' ? `${n.votes.length} vote${n.votes.length === 1 ? '' : 's'}` : vote);
      attrs(e.role, { fill: roleStroke[n.role] ?? '#868e96' });
      text(e.role, n.alive ? n.role : 'crashed');
      text(e.crown, n.role === 'leader' ? '♛' : '');
    }
    // Messages in flight: one element per message for its whole flight.
    const inFlight = run.messages();
    const labelled = inFlight.length <= 24;
    const alive = new Set<number>();
    for (const m of inFlight) {
      alive.add(m.id);
      const from = pos[m.fromIndex]!;
      const to = pos[m.toIndex]!;
      const span = m.deliverAt - m.sentAt;
      const p = span > 0 ? Math.min(1, Math.max(0, (now - m.sentAt) / span)) : 1;
      const dx = to[0] - from[0];
      const dy = to[1] - from[1];
      const len = Math.hypot(dx, dy) || 1;
      // Each direction on its own side of the link, off the node circles.
      const q = 0.15 + 0.7 * p;
      const x = from[0] + dx * q + (-dy / len) * 6;
      const y = from[1] + dy * q + (dx / len) * 6;
      let e = this.messageEls.get(m.id);
      if (!e) {
        const g = svg('g', { class: 'msg', 'data-msg': m.id, 'data-type': m.message.type });
        g.addEventListener('click', (ev) => {
          ev.stopPropagation();
          this.select(null, m.id);
        });
        const big = m.message.type === 'AppendEntries' && m.message.entries.length > 0;
        const dot = svg('circle', { r: big ? 7 : 5.5, fill: messageColour(m), stroke: '#fff', 'stroke-width': 1 });
        const label = svg('text', { 'font-size': 9, fill: '#495057', 'paint-order': 'stroke', stroke: '#fff', 'stroke-width': 3 }, m.label);
        g.append(dot, label);
        msgs.append(g);
        e = { g, dot, label, r: big ? 7 : 5.5 };
        this.messageEls.set(m.id, e);
      }
      const selected = this.selectedMessage === m.id;
      attrs(e.dot, { cx: x.toFixed(1), cy: y.toFixed(1), r: selected ? 9 : e.r, stroke: selected ? '#1d2330' : '#fff', 'stroke-width': selected ? 2 : 1 });
      attrs(e.label, { x: (x + 8).toFixed(1), y: (y - 6).toFixed(1), visibility: labelled || selected ? 'visible' : 'hidden' });
    }
    for (const [id, e] of this.messageEls) {
      if (!alive.has(id)) {
        e.g.remove();
        this.messageEls.delete(id);
      }
    }
    // Dropped messages: a red cross where they died, fading out.
    const window = Math.max(20, 1500 * this.speed);
    let crosses = '';
    for (const d of run.recentDrops(window)) {
      if (d.fromIndex < 0 || d.toIndex < 0) continue;
      const from = pos[d.fromIndex]!;
      const to = pos[d.toIndex]!;
      const q = 0.15 + 0.7 * d.where;
      const x = from[0] + (to[0] - from[0]) * q;
      const y = from[1] + (to[1] - from[1]) * q;
      const opacity = Math.max(0, 1 - (now - d.t) / window);
      crosses += `<text class="drop" data-reason="${d.reason}" x="${x.toFixed(1)}" y="${(y + 5).toFixed(1)}" text-anchor="middle" font-size="16" font-weight="700" fill="#e03131" opacity="${opacity.toFixed(2)}">✕</text>`;
    }
    if (crosses !== this.dropsHtml) {
      this.dropsHtml = crosses;
      drops.innerHTML = crosses;
    }
  }

  /** Groups of nodes that can still talk both ways (connected through uncut links). */
  private groups(cut: Set<string>): number[][] {
    const n = this.positions.length;
    const seen = new Set<number>();
    const out: number[][] = [];
    for (let start = 0; start < n; start++) {
      if (seen.has(start)) continue;
      const group: number[] = [];
      const todo = [start];
      seen.add(start);
      while (todo.length > 0) {
        const a = todo.pop()!;
        group.push(a);
        for (let b = 0; b < n; b++) {
          if (!seen.has(b) && !cut.has(`${a}>${b}`) && !cut.has(`${b}>${a}`)) {
            seen.add(b);
            todo.push(b);
          }
        }
      }
      out.push(group.sort((x, y) => x - y));
    }
    return out;
  }

  private drawLogs(nodes: NodeView[]): void {
    const key = nodes.map((n) => `${n.alive}${n.role}${n.commitIndex}:${n.snapshotIndex}:${n.log.map((e) => e.term).join('.')}:${n.nextIndex?.join('.') ?? ''}:${n.matchIndex?.join('.') ?? ''}`).join('|');
    if (key === this.logsKey) return;
    this.logsKey = key;
    const rows = this.ui.logs!.querySelector('.rows')!;
    rows.replaceChildren();
    const longest = Math.max(0, ...nodes.map((n) => n.snapshotIndex + n.log.length));
    const first = Math.max(1, longest - maxLogCells + 1);
    const last = Math.max(first + 9, longest);
    const leaderIndex = this.session.run.leaderIndex();
    const leader = leaderIndex === null ? undefined : nodes[leaderIndex];
    const header = el('div', { class: 'logindex' });
    for (let i = first; i <= last; i++) header.append(el('span', {}, String(i)));
    rows.append(header);
    for (const n of nodes) {
      const row = el('div', { class: `logrow${n.alive ? '' : ' down'}`, 'data-log': nodeName(n.index) });
      const who = el('div', { class: 'who' }, nodeName(n.index));
      who.append(el('small', {}, n.alive ? (n.role === 'leader' ? 'leader' : '') : 'down'));
      const entries = el('div', { class: 'entries' });
      const next = leader && leader !== n ? leader.nextIndex![n.index] : null;
      const match = leader && leader !== n ? leader.matchIndex![n.index] : null;
      for (let i = first; i <= last; i++) {
        if (i <= n.snapshotIndex) {
          const cell = el('div', { class: 'entry committed snapshot' }, 'S');
          cell.title = `index ${i}: in ${nodeName(n.index)}'s snapshot (compacted, committed)`;
          entries.append(cell);
          continue;
        }
        const e = n.log[i - 1 - n.snapshotIndex];
        const cell = el('div', { class: `entry${e ? (i <= n.commitIndex ? ' committed' : '') : ' empty'}` }, e ? String(e.term) : '');
        if (e) {
          cell.style.background = termColour(e.term);
          cell.title = `index ${i}, term ${e.term}: ${JSON.stringify(e.command)}${i <= n.commitIndex ? ' (committed)' : ''}`;
        }
        const marks = [next === i ? 'n' : '', match === i ? 'm' : ''].filter(Boolean).join('');
        if (marks) cell.append(el('span', { class: 'mark' }, marks));
        entries.append(cell);
      }
      const meta = el('div', { class: 'meta' }, `commit ${n.commitIndex}${next != null ? ` · next ${next} · match ${match ?? 0}` : ''}`);
      row.append(who, entries, meta);
      rows.append(row);
    }
  }

  /**
   * The term timeline: segments are drawn once in virtual-time units inside a scaled group (only the scale and the
   * open segments change per frame); the ticks and the cursor are redrawn.
   */
  private drawTimeline(): void {
    const run = this.session.run;
    const s = this.timelineSvg;
    const n = run.ids.length;
    const lane = 13;
    const height = n * lane + 22;
    const width = this.timelineWidth;
    const x0 = 40;
    const end = this.timelineEnd();
    const scale = (width - x0 - 10) / end;
    let state = this.timelineState;
    const segments = run.timeline();
    if (!state || state.run !== run || state.width !== width || state.segments > segments.length) {
      attrs(s, { height, viewBox: `0 0 ${width} ${height}` });
      s.replaceChildren();
      for (let i = 0; i < n; i++) {
        s.append(svg('text', { x: 4, y: i * lane + 10, 'font-size': 10, fill: '#6b7385' }, nodeName(i)));
        s.append(svg('line', { x1: x0, x2: width - 10, y1: i * lane + 6.5, y2: i * lane + 6.5, stroke: '#f1f3f5' }));
      }
      const group = svg('g');
      const overlay = svg('g');
      s.append(group, overlay);
      state = { run, segments: 0, open: [], group, overlay, width, ticks: '' };
      this.timelineState = state;
    }
    for (; state.segments < segments.length; state.segments++) {
      const seg = segments[state.segments]!;
      const h = seg.role === 'leader' ? 11 : seg.role === 'down' ? 3 : seg.role === 'follower' ? 6 : 9;
      const rect = svg('rect', {
        x: seg.from, width: 0, y: seg.node * lane + 6.5 - h / 2, height: h,
        fill: seg.role === 'down' ? '#ced4da' : termColour(seg.term),
        stroke: seg.role === 'leader' ? '#3b5bdb' : seg.role === 'candidate' ? '#e8590c' : 'none', 'stroke-width': 0.8,
        'vector-effect': 'non-scaling-stroke',
      });
      state.group.append(rect);
      state.open.push({ seg, rect });
    }
    state.open = state.open.filter(({ seg, rect }) => {
      const to = Number.isFinite(seg.to) ? seg.to : run.now;
      // At least about one pixel wide, whatever the scale.
      attrs(rect, { width: Math.max(0.8 / scale, to - seg.from).toFixed(3) });
      return !Number.isFinite(seg.to);
    });
    attrs(state.group, { transform: `translate(${x0} 0) scale(${scale.toFixed(6)} 1)` });
    const x = (t: number): number => x0 + Math.min(t, end) * scale;
    const step = [100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 60_000].find((st) => end / st <= 10) ?? 120_000;
    let overlay = '';
    for (let t = 0; t <= end; t += step) {
      overlay += `<text x="${x(t).toFixed(1)}" y="${n * lane + 16}" font-size="9.5" fill="#868e96" text-anchor="middle">${t >= 1000 ? `${t / 1000}s` : `${t}ms`}</text>`;
    }
    const parent = this.session.branch.parent;
    if (parent) overlay += `<line x1="${x(parent.at)}" x2="${x(parent.at)}" y1="0" y2="${n * lane}" stroke="#845ef7" stroke-dasharray="2 2"></line>`;
    const v = run.violation;
    if (v) overlay += `<line x1="${x(v.time)}" x2="${x(v.time)}" y1="0" y2="${n * lane + 4}" stroke="#d6336c" stroke-width="2"></line>`;
    overlay += `<line data-test="cursor" x1="${x(run.now).toFixed(1)}" x2="${x(run.now).toFixed(1)}" y1="0" y2="${n * lane + 4}" stroke="#1d2330" stroke-width="1.5"></line>`;
    if (overlay !== state.ticks) {
      state.ticks = overlay;
      state.overlay.innerHTML = overlay;
    }
  }

  private drawMonitor(): void {
    const v = this.session.run.violation;
    const monitor = this.ui.monitor!;
    monitor.classList.toggle('violated', v !== null);
    for (const p of monitor.querySelectorAll<HTMLElement>('.prop')) {
      const bad = v?.property === p.dataset.prop;
      p.classList.toggle('bad', bad);
      p.textContent = `${bad ? '✕' : '✓'} ${p.dataset.prop}`;
    }
    monitor.querySelector('.verdict')!.textContent = v
      ? `${v.property} violated at event #${v.eventIndex}, t = ${v.time.toFixed(3)} ms: ${pretty(v.detail)}`
      : 'All five properties hold on every event so far.';
    const banner = this.ui.banner!;
    banner.classList.toggle('on', v !== null);
    banner.textContent = v ? `⚠ The safety monitor stopped the run: ${v.property} violated at event #${v.eventIndex} (t = ${v.time.toFixed(1)} ms). Go back in time with the slider to see how it happened.` : '';
  }

  private drawEvents(): void {
    const run = this.session.run;
    const box = this.ui.events!;
    const v = run.violation;
    const shown = run.recentEvents(600)
      .filter((e) => e.kind !== 'send' && e.kind !== 'deliver' && e.kind !== 'apply' && !(e.kind === 'drop' && e.reason !== 'manual'))
      .slice(-10);
    const key = `${shown[shown.length - 1]?.seq ?? -1}|${shown.length}|${v?.eventIndex ?? ''}|${run.ids.length}`;
    if (key === this.eventsKey) return;
    this.eventsKey = key;
    box.replaceChildren();
    const name = (id: string): string => {
      const i = run.ids.indexOf(id);
      return i < 0 ? id : nodeName(i);
    };
    for (const e of shown) {
      const line = el('div', { 'data-seq': String(e.seq) });
      if (v && e.seq === v.eventIndex) line.classList.add('hl');
      line.append(el('span', { class: 't' }, `${e.t.toFixed(1)}`), document.createTextNode(describeEvent(e, name)));
      box.append(line);
    }
    if (v && !shown.some((e) => e.seq === v.eventIndex)) {
      const line = el('div', { class: 'hl' }, `#${v.eventIndex}: ${v.property} violated: ${pretty(v.detail)}`);
      box.append(line);
    }
  }

  private drawInspector(nodes: NodeView[] = this.session.run.nodes()): void {
    const box = this.ui.inspector!;
    const what = box.querySelector('.what')!;
    const buttons = box.querySelector('.buttons')!;
    const selectedNode = this.selectedNode === null ? undefined : nodes[this.selectedNode];
    const messageThere = this.selectedMessage !== null && this.session.run.messages().some((x) => x.id === this.selectedMessage);
    // The buttons are rebuilt only when what they act on changes, so a click lands even while the run plays.
    const key = [this.splitMode, this.splitGroups.join(), this.cutFrom, messageThere ? this.selectedMessage : null, this.selectedNode,
      selectedNode?.alive, selectedNode?.role, this.session.run.violation !== null, this.session.branch.id].join('|');
    const rebuild = key !== this.inspectorKey;
    this.inspectorKey = key;
    if (rebuild) buttons.replaceChildren();
    const button = (text: string, test: string, onClick: () => void, disabled = false, cls = ''): void => {
      if (!rebuild) return;
      const b = el('button', { 'data-test': test, class: cls }, text) as HTMLButtonElement;
      b.disabled = disabled || this.session.run.violation !== null;
      b.addEventListener('click', onClick);
      buttons.append(b);
    };
    if (this.splitMode) {
      what.textContent = `Click nodes to move them between the two groups: ${[0, 1].map((g) => this.splitGroups.map((x, i) => (x === g ? nodeName(i) : '')).filter(Boolean).join(' ') || '(none)').join('  |  ')}`;
      button('apply split', 'apply-split', () => {
        const groups = [0, 1].map((g) => this.splitGroups.flatMap((x, i) => (x === g ? [i] : [])));
        this.splitMode = false;
        this.act({ op: 'split', groups });
      });
      return;
    }
    if (this.cutFrom !== null) {
      what.textContent = `Click the node at the other end of the link to cut from ${nodeName(this.cutFrom)}.`;
      button('cancel', 'cancel-cut', () => {
        this.cutFrom = null;
        this.drawInspector();
        this.drawCluster();
      });
      return;
    }
    const m = this.selectedMessage === null ? undefined : this.session.run.messages().find((x) => x.id === this.selectedMessage);
    if (m) {
      if (!rebuild) return;
      what.innerHTML = '';
      what.append(
        document.createTextNode(`${nodeName(m.fromIndex)} → ${nodeName(m.toIndex)}: `),
        el('code', {}, JSON.stringify(m.message).slice(0, 160)),
        document.createTextNode(` arrives at ${m.deliverAt.toFixed(1)} ms`),
      );
      button('drop it', 'drop', () => this.act({ op: 'drop', message: m.id }), false, 'danger');
      button('delay +100 ms', 'delay', () => this.act({ op: 'delay', message: m.id, ms: 100 }));
      return;
    }
    const n = this.selectedNode === null ? undefined : nodes[this.selectedNode];
    if (!n) {
      what.textContent = 'Click a node or a message in flight. Space plays/pauses, → steps one event.';
      return;
    }
    const timer = n.timerLeftMs === null ? '' : `, election timer ${n.timerLeftMs.toFixed(0)} ms left`;
    what.textContent = `${nodeName(n.index)} (${n.id}): ${n.alive ? n.role : 'crashed'}, term ${n.term}, voted for ${n.votedFor === null ? 'nobody' : nodeName(n.votedFor)}, log ${n.log.length}, commit ${n.commitIndex}${timer}`;
    if (n.alive) button('crash', 'crash', () => this.act({ op: 'crash', node: n.index }), false, 'danger');
    else button('restart', 'restart', () => this.act({ op: 'restart', node: n.index }));
    button('time out', 'timeout', () => this.act({ op: 'timeout', node: n.index }), !n.alive || n.role === 'leader');
    button('request here', 'request-here', () => this.act({ op: 'request', node: n.index }), !n.alive);
    button('isolate', 'isolate', () => this.act({ op: 'split', groups: [[n.index], nodes.filter((x) => x.index !== n.index).map((x) => x.index)] }));
    button('cut a link…', 'cut', () => {
      this.cutFrom = n.index;
      this.drawInspector();
      this.drawCluster();
    });
  }

  private drawBranches(): void {
    const select = this.ui.branch as HTMLSelectElement;
    const branches = this.session.branches;
    select.style.display = branches.length > 1 ? '' : 'none';
    const wanted = branches.map((b) => `${b.id}:${b.spec.actions.length}`).join(',');
    if (select.dataset.key !== wanted) {
      select.replaceChildren(...branches.map((b) => el('option', { value: String(b.id) },
        b.parent ? `branch ${b.id} (from ${b.parent.id} at ${b.parent.at.toFixed(0)} ms)` : `branch ${b.id} (first run)`)));
      select.dataset.key = wanted;
    }
    select.value = String(this.session.branch.id);
  }
}
