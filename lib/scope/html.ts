import type { MountOptions } from './config';

/** Text safe inside a <script> element. */
function scriptText(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A whole HTML document running the explorer, its script inlined (needs no server once loaded). */
export function scopeDocument(script: string, config: MountOptions, title = 'Raft Scope'): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>html,body{margin:0;padding:0;background:#fff}body{padding:8px}</style>',
    '</head><body>',
    '<div id="raft-scope"></div>',
    `<script>window.raftScopeConfig = ${scriptText(JSON.stringify(config))};</script>`,
    `<script>${scriptText(script)}</script>`,
    '</body></html>',
  ].join('\n');
}

/** The document in an iframe (srcdoc), as notebook output: isolated styles, works in Jupyter and VS Code. */
export function scopeIframe(document: string, height = 980): string {
  return `<iframe class="raft-scope-frame" srcdoc="${escapeHtml(document)}" style="width:100%;min-width:760px;height:${height}px;border:0" sandbox="allow-scripts allow-same-origin"></iframe>`;
}
