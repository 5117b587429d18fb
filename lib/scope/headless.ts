/**
 * Debian's Chromium, headless, driven by puppeteer-core (a dev dependency: for the browser tests and the
 * benchmark; nothing is downloaded). Each browser gets a fresh profile folder, removed on close.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'puppeteer-core';

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const chromiumFlags = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export interface HeadlessChromium {
  readonly browser: Browser;
  close(): Promise<void>;
}

export function chromiumProblem(): string | null {
  return fs.existsSync(chromiumPath) ? null : `no Chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM)`;
}

export async function launchChromium(options: { width?: number; height?: number } = {}): Promise<HeadlessChromium> {
  const problem = chromiumProblem();
  if (problem) throw new Error(problem);
  const puppeteer = await import('puppeteer-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-scope-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    userDataDir: profile,
    args: [...chromiumFlags, `--window-size=${options.width ?? 1280},${options.height ?? 1000}`],
    defaultViewport: { width: options.width ?? 1280, height: options.height ?? 1000 },
    timeout: 30_000,
  });
  return {
    browser,
    close: async () => {
      try {
        await browser.close();
      } finally {
        fs.rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
