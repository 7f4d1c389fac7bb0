import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** Debian's `chromium` package. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Launches headless Chromium, or fails (never skips) saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the browser test needs it. Install Debian's package with ` +
        '`apt-get install -y chromium` (as root), or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** What the page did that the test must know about: errors, and any attempt to leave this machine. */
export interface PageWatch {
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests (HTTP or WebSocket) to a host other than 127.0.0.1/localhost; HTTP ones are aborted. */
  nonLocalRequests: string[];
  /** WebSocket frames the page sent, per socket URL. */
  sentFrames: { url: string; payload: string }[];
  webSockets: string[];
}

function isLocal(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return LOCAL_HOSTS.has(hostname);
}

/** Records console errors, page errors and WebSockets, and aborts (and records) every non-local request. */
export async function watchPage(context: BrowserContext, page: Page): Promise<PageWatch> {
  const watch: PageWatch = { consoleErrors: [], pageErrors: [], nonLocalRequests: [], sentFrames: [], webSockets: [] };
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    watch.nonLocalRequests.push(`${route.request().method()} ${url}`);
    return route.abort('blockedbyclient');
  });
  page.on('console', (message) => {
    if (message.type() === 'error') watch.consoleErrors.push(`${message.text()} (${message.location().url}:${message.location().lineNumber})`);
  });
  page.on('pageerror', (error) => watch.pageErrors.push(error.stack ?? error.message));
  page.on('websocket', (socket) => {
    watch.webSockets.push(socket.url());
    if (!isLocal(socket.url())) watch.nonLocalRequests.push(`WebSocket ${socket.url()}`);
    socket.on('framesent', ({ payload }) => watch.sentFrames.push({ url: socket.url(), payload: String(payload) }));
  });
  return watch;
}

/** Waits for a locator, failing with `what` (and the timeout) instead of Playwright's generic message. */
export async function waitFor(locator: Locator, what: string, timeout = 15_000): Promise<Locator> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}: ${(error as Error).message.split('\n')[0]}`);
  }
  return locator.first();
}

/**
 * The Monaco editor a pane shows. A pane can hold hidden editors too (GraphiQL's Headers pane also
 * holds the Variables editor, hidden), so this is the visible one.
 */
export function visibleEditor(pane: Locator): Locator {
  return pane.locator('.monaco-editor').filter({ visible: true }).first();
}

/**
 * The text a pane's Monaco editor shows: its screen lines in order, spaces normalized. Monaco puts
 * only the lines in view in the page, which is enough for the short operations and results here;
 * a long line wrapped by the editor comes out as several lines.
 */
export async function editorText(pane: Locator): Promise<string> {
  const lines = await visibleEditor(pane)
    .locator('.view-lines .view-line')
    .evaluateAll((nodes) =>
      nodes
        .map((node) => ({ top: parseFloat((node as unknown as { style: { top: string } }).style.top) || 0, text: (node as unknown as { textContent: string | null }).textContent ?? '' }))
        .sort((a, b) => a.top - b.top)
        .map((line) => line.text),
    );
  return lines.join('\n').replace(/\u00a0/g, ' ');
}

/** Polls a pane's editor text until `matches` says yes; fails with `what` and the last text seen. */
export async function waitForEditorText(pane: Locator, what: string, matches: (text: string) => boolean, timeout = 15_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let text = '';
  for (;;) {
    text = await editorText(pane).catch(() => text);
    if (matches(text)) return text;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting for ${what}; the editor shows:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Replaces the content of a pane's editor the way a person does: click into it, select all, and
 * paste the new text. Typing (even `keyboard.insertText`) goes through Monaco's auto-closing
 * brackets and quotes and its auto-indent, which change the text; a paste is taken as it is. The
 * paste is a `paste` event dispatched on the editor's input with the text as its clipboard data,
 * which is what Monaco reads on Ctrl+V, so the test does not depend on a system clipboard.
 *
 * Monaco applies a paste asynchronously (its paste handlers run first) and cancels it when the
 * editor's state changes meanwhile, Escape included: nothing is pressed until the text shows. The
 * editor is then read back and must keep the text for a moment; should a paste still not take, it
 * is done again (and said so on the console), at most three times.
 */
export async function replaceEditorText(page: Page, pane: Locator, text: string, what: string): Promise<void> {
  const editor = visibleEditor(pane);
  await waitFor(editor, what);
  const input = editor.getByRole('textbox', { name: 'Editor content' });
  const expected = normalize(text);
  for (let attempt = 1; ; attempt++) {
    // Monaco draws its own scrolling: anything that makes the browser scroll the editor's clipped
    // box natively shifts the text sideways for good. So the click is near the lines' top left
    // corner (Playwright scrolls the point it clicks into view; the middle of a long line is out of
    // view), and keys go through page.keyboard once the click has focused the editor (Locator.press
    // would focus Monaco's hidden input itself, which sits at the cursor, and scroll to it).
    await editor.locator('.view-lines').click({ position: { x: 4, y: 4 } });
    if (!(await hasFocus(input))) {
      if (attempt === 3) throw new Error(`${what} did not take the focus when clicked`);
      console.warn(`[browser] ${what} did not take the focus when clicked (attempt ${attempt}), clicking again`);
      continue;
    }
    await page.keyboard.press('ControlOrMeta+A');
    await input.evaluate((element, pasted) => {
      const g = globalThis as unknown as { DataTransfer: new () => { setData(type: string, data: string): void }; ClipboardEvent: new (type: string, init: object) => unknown };
      const clipboardData = new g.DataTransfer();
      clipboardData.setData('text/plain', pasted);
      (element as unknown as { dispatchEvent(event: unknown): boolean }).dispatchEvent(new g.ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }));
    }, text);
    const shown = await waitForEditorText(pane, `${what} to hold the text pasted in`, (now) => normalize(now) === expected, 2_000).catch((error: Error) => error);
    if (!(shown instanceof Error)) {
      await new Promise((resolve) => setTimeout(resolve, 800));
      if (normalize(await editorText(pane)) === expected) {
        await page.keyboard.press('ControlOrMeta+Home'); // back to the start: the text in view from its beginning
        return;
      }
    }
    const message = shown instanceof Error ? shown.message : `${what} lost the text pasted in; it shows:\n${await editorText(pane)}`;
    if (attempt === 3) throw new Error(`after 3 pastes: ${message}`);
    console.warn(`[browser] paste ${attempt} into ${what} did not hold, pasting again: ${message}`);
  }
}

/** Whether an editor's input has the focus, within a second (the click hands it over asynchronously). */
async function hasFocus(input: Locator): Promise<boolean> {
  for (const deadline = Date.now() + 1000; ; await new Promise((resolve) => setTimeout(resolve, 50))) {
    const focused = await input.evaluate((element) => (element as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement === element).catch(() => false);
    if (focused || Date.now() > deadline) return focused;
  }
}

function normalize(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
