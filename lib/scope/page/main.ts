/**
 * The browser entry of Raft Scope (bundled by lib/scope/build.ts). A page sets window.raftScopeConfig before
 * this script runs (the run to open, whether to keep it in the URL hash); without it the page reads its hash.
 */
import { mountScope, type MountOptions, type ScopeApp } from './app';

declare global {
  interface Window {
    raftScopeConfig?: MountOptions & { readonly rootId?: string };
    raftScope?: ScopeApp;
  }
}

function start(): void {
  const config = window.raftScopeConfig ?? { useHash: true };
  const root = document.getElementById(config.rootId ?? 'raft-scope') ?? document.body.appendChild(document.createElement('div'));
  try {
    window.raftScope = mountScope(root, config);
  } catch (error) {
    root.textContent = `Raft Scope failed to start: ${error instanceof Error ? error.message : String(error)}`;
    throw error;
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
