/** The explorer's stylesheet, scoped under .raft-scope so it can sit inside a notebook's output. */
export const css = String.raw`
.raft-scope { --bg:#f7f8fa; --panel:#fff; --ink:#1d2330; --muted:#6b7385; --line:#e3e6ec; --accent:#3b5bdb;
  --bad:#d6336c; --ok:#2f9e44; --down:#adb5bd;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
  background: var(--bg); border: 1px solid var(--line); border-radius: 10px; padding: 10px; box-sizing: border-box;
  max-width: 1180px; margin: 0 auto; user-select: none; }
.raft-scope * { box-sizing: border-box; }
.raft-scope header { display:flex; flex-wrap:wrap; align-items:center; gap:8px 14px; padding:2px 4px 10px; border-bottom:1px solid var(--line); }
.raft-scope header h1 { font-size:17px; margin:0 8px 0 0; letter-spacing:.2px; }
.raft-scope header h1 span { color: var(--accent); }
.raft-scope label { display:inline-flex; align-items:center; gap:5px; color: var(--muted); white-space:nowrap; }
.raft-scope input[type=number] { width:70px; }
.raft-scope input, .raft-scope select, .raft-scope button { font: inherit; color: var(--ink); }
.raft-scope select, .raft-scope input[type=number] { border:1px solid var(--line); border-radius:6px; padding:3px 6px; background:#fff; }
.raft-scope button { border:1px solid var(--line); background:#fff; border-radius:6px; padding:4px 10px; cursor:pointer; }
.raft-scope button:hover:not(:disabled) { border-color: var(--accent); color: var(--accent); }
.raft-scope button:disabled { opacity:.45; cursor:default; }
.raft-scope button.primary { background: var(--accent); color:#fff; border-color: var(--accent); min-width:74px; }
.raft-scope button.primary:hover { color:#fff; filter:brightness(1.1); }
.raft-scope button.danger:hover:not(:disabled) { border-color: var(--bad); color: var(--bad); }
.raft-scope .grid { display:grid; grid-template-columns: minmax(360px, 460px) 1fr; gap:10px; margin-top:10px; }
.raft-scope .panel { background: var(--panel); border:1px solid var(--line); border-radius:8px; padding:8px 10px; }
.raft-scope .panel h2 { font-size:11px; text-transform:uppercase; letter-spacing:.08em; color: var(--muted); margin:0 0 6px; font-weight:600; }
.raft-scope svg { display:block; }
.raft-scope .cluster { width:100%; height:auto; }
.raft-scope .node { cursor:pointer; }
.raft-scope .node text { pointer-events:none; }
.raft-scope .msg { cursor:pointer; }
.raft-scope .side { display:flex; flex-direction:column; gap:10px; min-width:0; }
.raft-scope .inspector .buttons { display:flex; flex-wrap:wrap; gap:6px; margin-top:6px; }
.raft-scope .inspector .what { min-height:36px; }
.raft-scope .inspector code { background:#f1f3f5; padding:1px 4px; border-radius:4px; font-size:12px; }
.raft-scope .monitor .props { display:flex; flex-wrap:wrap; gap:4px 6px; }
.raft-scope .monitor .prop { border-radius:999px; padding:1px 8px; font-size:12px; background:#ebfbee; color:#2b8a3e; border:1px solid #b2f2bb; }
.raft-scope .monitor .prop.bad { background:#fff0f6; color: var(--bad); border-color:#fcc2d7; font-weight:600; }
.raft-scope .monitor .verdict { margin-top:6px; }
.raft-scope .monitor.violated { border-color: var(--bad); box-shadow: 0 0 0 2px #fcc2d7; }
.raft-scope .events { font: 11.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; min-height:174px; overflow:hidden; }
.raft-scope .events div { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.raft-scope .events .t { color: var(--muted); display:inline-block; width:70px; text-align:right; margin-right:6px; }
.raft-scope .events .hl { background:#fff0f6; color: var(--bad); font-weight:600; }
.raft-scope .logs { margin-top:10px; overflow-x:auto; }
.raft-scope .logrow { display:flex; align-items:center; height:26px; gap:0; }
.raft-scope .logrow .who { width:92px; flex:none; font-weight:600; display:flex; align-items:center; gap:6px; }
.raft-scope .logrow .who small { font-weight:400; color: var(--muted); }
.raft-scope .logrow.down .who { color: var(--down); }
.raft-scope .entries { display:flex; gap:2px; position:relative; }
.raft-scope .entry { width:22px; height:20px; border-radius:3px; font-size:11px; display:flex; align-items:center; justify-content:center;
  border:1.5px dashed rgba(0,0,0,.35); color:#1d2330; position:relative; }
.raft-scope .entry.committed { border-style:solid; border-color: rgba(0,0,0,.55); }
.raft-scope .entry.empty { border:1px dashed var(--line); background:transparent; color:transparent; }
.raft-scope .entry.snapshot { background: repeating-linear-gradient(45deg, #dee2e6, #dee2e6 3px, #f1f3f5 3px, #f1f3f5 6px); color:#495057; }
.raft-scope .entry .mark { position:absolute; bottom:-9px; font-size:9px; line-height:9px; font-weight:700; color: var(--accent); }
.raft-scope .logrow .meta { margin-left:10px; color: var(--muted); font-size:12px; white-space:nowrap; }
.raft-scope .logindex { display:flex; gap:2px; margin-left:92px; color: var(--muted); font-size:10px; }
.raft-scope .logindex span { width:22px; text-align:center; }
.raft-scope .transport { display:flex; flex-wrap:wrap; align-items:center; gap:8px 14px; margin-top:10px; }
.raft-scope .transport .time { font-variant-numeric: tabular-nums; min-width:118px; font-weight:600; }
.raft-scope .transport input[type=range].scrub { flex:1; min-width:200px; }
.raft-scope .timeline { width:100%; cursor:crosshair; }
.raft-scope .legend { display:flex; flex-wrap:wrap; gap:4px 12px; color: var(--muted); font-size:11.5px; margin-top:4px; }
.raft-scope .legend i { display:inline-block; width:10px; height:10px; border-radius:50%; margin-right:4px; vertical-align:-1px; }
.raft-scope .banner { display:none; margin-top:10px; padding:8px 12px; border-radius:8px; background:#fff0f6; color: var(--bad);
  border:1px solid #fcc2d7; font-weight:600; }
.raft-scope .banner.on { display:block; }
.raft-scope .error { color: var(--bad); }
@media (max-width: 860px) { .raft-scope .grid { grid-template-columns: 1fr; } }
`;
